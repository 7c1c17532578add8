"""Per-service and per-hop latency and error statistics over a set of spans.

A service's numbers come from its SERVER spans. A hop (caller -> callee) is a caller CLIENT
span matched with the callee SERVER span whose parent it is; when the callee is not
instrumented (a database, a queue), the CLIENT span's `peer.service` attribute names it. A hop's
latency is the caller's view of the call (the CLIENT span), so it includes the network.
Percentiles are nearest-rank (`controlplane.stats.percentile`), as the meter's are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from controlplane.observe.records import SpanRecord
from controlplane.stats import percentile

__all__ = ["HopStats", "ServiceStats", "Summary", "summarize"]

Sample = tuple[float, bool]  # (latency ms, error)


@dataclass(frozen=True, slots=True)
class ServiceStats:
    service: str
    count: int
    errors: int
    error_ratio: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True, slots=True)
class HopStats:
    caller: str
    callee: str
    count: int
    errors: int
    error_ratio: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True, slots=True)
class Summary:
    window_s: float
    services: tuple[ServiceStats, ...]
    hops: tuple[HopStats, ...]

    def service(self, name: str) -> ServiceStats | None:
        return next((s for s in self.services if s.service == name), None)

    def hop(self, caller: str, callee: str) -> HopStats | None:
        return next((h for h in self.hops if (h.caller, h.callee) == (caller, callee)), None)


def summarize(spans: Iterable[SpanRecord], window_s: float) -> Summary:
    spans = list(spans)
    services = [_service_stats(name, samples)
                for name, samples in sorted(_service_samples(spans).items())]
    hops = [_hop_stats(caller, callee, samples)
            for (caller, callee), samples in sorted(_hop_samples(spans).items())]
    return Summary(window_s=window_s, services=tuple(services), hops=tuple(hops))


def _service_samples(spans: list[SpanRecord]) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = defaultdict(list)
    for span in spans:
        if span.kind == "server":
            samples[span.service].append((span.duration_ms, span.error))
    return samples


def _hop_samples(spans: list[SpanRecord]) -> dict[tuple[str, str], list[Sample]]:
    servers = {(s.trace_id, s.parent_span_id): s for s in spans
               if s.kind == "server" and s.parent_span_id}
    samples: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for client in (s for s in spans if s.kind == "client"):
        callee = servers.get((client.trace_id, client.span_id))
        if callee is not None:
            hop, error = (client.service, callee.service), client.error or callee.error
        elif peer := client.attributes.get("peer.service"):
            hop, error = (client.service, str(peer)), client.error
        else:
            continue  # a call to something we cannot name
        samples[hop].append((client.duration_ms, error))
    return samples


def _counts(samples: list[Sample]) -> tuple[int, int, float, list[float]]:
    errors = sum(1 for _, error in samples if error)
    return len(samples), errors, errors / len(samples), sorted(ms for ms, _ in samples)


def _service_stats(service: str, samples: list[Sample]) -> ServiceStats:
    count, errors, ratio, ordered = _counts(samples)
    return ServiceStats(service, count, errors, ratio, percentile(ordered, 50),
                        percentile(ordered, 95), percentile(ordered, 99))


def _hop_stats(caller: str, callee: str, samples: list[Sample]) -> HopStats:
    count, errors, ratio, ordered = _counts(samples)
    return HopStats(caller, callee, count, errors, ratio, percentile(ordered, 50),
                    percentile(ordered, 99))

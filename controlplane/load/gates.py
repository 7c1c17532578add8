"""SLO gates for load runs, read from `policies/load-gates.yaml`, and their evaluation.

A policy names latency gates (a percentile, a ceiling in ms, and which figure it reads), an
error-ratio gate, a grace period and the conditions under which a run is *invalid* (the load
generator was overloaded, a worker went missing, the target user count was never reached).

- During the run, `GateWatch.observe` reads the sliding window of each progress tick. A gate
  breached for longer than `grace_s` aborts the run with the reason.
- At the end, `final_failures` judges the whole run's figures against the same gates.

Latency sources: `intended` (HdrHistogram, end minus intended start: the coordinated-omission-
safe figure), `service` (HdrHistogram, end minus actual send) and `locust` (Locust's own
rounded percentiles; live gating reads its ~10 s window).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from controlplane.errors import InvalidInput
from controlplane.project import project_file
from controlplane.userfiles import first_error, read_document

__all__ = ["DEFAULT_GATES", "Breach", "ErrorGate", "GatePolicy", "GateWatch", "LatencyGate",
           "Validity", "final_failures", "load_gate_policy", "percentile_key"]

DEFAULT_GATES = project_file("policies/load-gates.yaml")
Source = Literal["intended", "service", "locust"]


def percentile_key(p: float) -> str:
    return f"p{p:g}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LatencyGate(_Model):
    percentile: float
    max_ms: float = Field(gt=0, le=600_000)
    source: Source = "intended"

    @field_validator("percentile", mode="before")
    @classmethod
    def _percentile(cls, value: Any) -> float:
        """99, 99.9, "p99" or "99.9" are percentiles; 0, 101, "median" are not."""
        text = str(value).strip().lower().removeprefix("p")
        try:
            p = float(text)
        except ValueError:
            raise ValueError("unknown percentile; use a number above 0 and at most 100, "
                             "like 99 or 99.9 (or p99)") from None
        if not 0 < p <= 100:
            raise ValueError("unknown percentile; it must be above 0 and at most 100")
        return p

    def describe(self) -> str:
        label = {"intended": "from intended start", "service": "service time",
                 "locust": "Locust"}[self.source]
        return f"{percentile_key(self.percentile)} ({label}) <= {self.max_ms:g} ms"


class ErrorGate(_Model):
    max: float = Field(ge=0, le=1)      # a ratio: 0.01 is 1%


class Validity(_Model):
    max_worker_cpu_pct: float = Field(90.0, gt=0, le=100)
    cpu_window_s: float = Field(5.0, gt=0, le=600)
    min_target_fraction: float = Field(1.0, gt=0, le=1)
    workers_must_stay: bool = True


class GatePolicy(_Model):
    description: str = ""
    latency: list[LatencyGate] = Field(default_factory=list)
    error_ratio: ErrorGate | None = None
    grace_s: float = Field(10.0, ge=0, le=3600)
    window_s: int = Field(10, ge=1, le=300)
    min_requests: int = Field(20, ge=1, le=1_000_000)
    validity: Validity = Field(default_factory=Validity)

    def percentiles(self) -> list[float]:
        return sorted({50.0, 90.0, 99.0, 99.9} | {g.percentile for g in self.latency})


class _PolicyFile(_Model):
    policies: dict[str, GatePolicy]


def load_gate_policy(name: str, path: Path | None = None) -> GatePolicy:
    """The policy `name` from a gates file; errors name the file, the field and the value."""
    path = path or DEFAULT_GATES
    source = str(path)
    data = read_document(path, fix="Pass an existing gates file with --gates")
    try:
        policies = _PolicyFile.model_validate(data).policies
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        raise InvalidInput(message, source=source, field=field, value=value,
                           fix="See the comments at the top of policies/load-gates.yaml"
                           ) from None
    if name not in policies:
        raise InvalidInput(f"unknown gate policy; policies in this file: "
                           f"{', '.join(sorted(policies))}", source=source, field="policies",
                           value=name)
    return policies[name]


@dataclass(frozen=True)
class Breach:
    gate: str              # "p99 (from intended start) <= 250 ms" or "error ratio <= 1%"
    observed: str          # "812.3 ms" or "4.20%"
    since_s: float         # how long it has been breached, by the run's clock

    def reason(self) -> str:
        return f"gate {self.gate} breached for {self.since_s:.1f} s (observed {self.observed})"


def _latency_of(gate: LatencyGate, figures: dict[str, Any]) -> float | None:
    table = {"intended": figures.get("latency_ms"), "service": figures.get("service_ms"),
             "locust": figures.get("locust_ms")}[gate.source] or {}
    value = table.get(percentile_key(gate.percentile))
    return None if value is None else float(value)


def _breaches(policy: GatePolicy, figures: dict[str, Any]) -> list[tuple[str, str]]:
    """(gate, observed) for every gate the figures break right now."""
    out: list[tuple[str, str]] = []
    for gate in policy.latency:
        value = _latency_of(gate, figures)
        if value is not None and value > gate.max_ms:
            out.append((gate.describe(), f"{value:.1f} ms"))
    requests = figures.get("requests", 0)
    if policy.error_ratio is not None and requests:
        ratio = figures.get("failures", 0) / requests
        if ratio > policy.error_ratio.max:
            out.append((f"error ratio <= {policy.error_ratio.max:.2%}", f"{ratio:.2%}"))
    return out


class GateWatch:
    """Live gating: a gate breached in every window for longer than the grace period."""

    def __init__(self, policy: GatePolicy) -> None:
        self.policy = policy
        self._since: dict[str, float] = {}

    def observe(self, elapsed: float, window: dict[str, Any],
                locust_ms: dict[str, Any] | None = None) -> Breach | None:
        if window.get("requests", 0) + window.get("pending", 0) < self.policy.min_requests:
            return None     # too little to judge: neither breach nor clear
        figures = {**window, "locust_ms": locust_ms or {}}
        now = dict(_breaches(self.policy, figures))
        self._since = {gate: self._since.get(gate, elapsed) for gate in now}
        for gate, observed in now.items():
            held = elapsed - self._since[gate]
            if held >= self.policy.grace_s:
                return Breach(gate, observed, held)
        return None


def final_failures(policy: GatePolicy, totals: dict[str, Any],
                   locust_ms: dict[str, Any]) -> list[str]:
    """The gates the whole run breaks, as sentences."""
    figures = {**totals, "locust_ms": locust_ms}
    return [f"gate {gate} failed over the whole run (observed {observed})"
            for gate, observed in _breaches(policy, figures)]

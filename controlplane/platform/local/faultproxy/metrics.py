"""The proxy's Prometheus metrics, registered on the registry it is given.

- faultproxy_connections_total{link}: connections accepted (reset ones included)
- faultproxy_open_connections{link}: connections being proxied now
- faultproxy_bytes_total{link,direction}: bytes forwarded; direction is upstream
  (client -> server) or downstream (server -> client); dropped bytes are not counted
- faultproxy_fault_active{link,kind}: 1 while a fault of that kind is set on the link
- faultproxy_resets_total{link}: connections reset by a fault
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from controlplane.platform.local.faultproxy.spec import DIRECTIONS, KINDS, Direction, FaultSpec

__all__ = ["LinkMetrics", "ProxyMetrics"]


@dataclass(frozen=True)
class LinkMetrics:
    """One link's children of the proxy's metrics, resolved once (not per chunk)."""

    connections: Callable[[], None]
    open: Gauge
    resets: Callable[[], None]
    sent: dict[Direction, Callable[[float], None]]
    show_fault: Callable[[FaultSpec | None], None]


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.connections = Counter("faultproxy_connections_total", "Connections accepted",
                                   ["link"], registry=registry)
        self.open = Gauge("faultproxy_open_connections", "Connections being proxied",
                          ["link"], registry=registry)
        self.bytes = Counter("faultproxy_bytes_total", "Bytes forwarded",
                             ["link", "direction"], registry=registry)
        self.fault_active = Gauge("faultproxy_fault_active", "1 while a fault of this kind is "
                                  "set on the link", ["link", "kind"], registry=registry)
        self.resets = Counter("faultproxy_resets_total", "Connections reset by a fault",
                              ["link"], registry=registry)

    def for_link(self, link: str) -> LinkMetrics:
        def show_fault(spec: FaultSpec | None) -> None:
            active = set() if spec is None else set(spec.kinds())
            for kind in KINDS:
                self.fault_active.labels(link=link, kind=kind).set(int(kind in active))

        show_fault(None)
        return LinkMetrics(
            connections=self.connections.labels(link=link).inc,
            open=self.open.labels(link=link),
            resets=self.resets.labels(link=link).inc,
            sent={d: self.bytes.labels(link=link, direction=d).inc for d in DIRECTIONS},
            show_fault=show_fault)

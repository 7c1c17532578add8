"""Registry of the kinds of component the local platform knows how to run."""

from __future__ import annotations

from controlplane.platform.local.kinds import (
                                               alertmanager,
                                               etcd,
                                               faultproxy,
                                               haproxy,
                                               ledger,
                                               prometheus,
                                               services,
)
from controlplane.platform.local.kinds.base import BuildContext, Kind, ProcessSpec

__all__ = ["KINDS", "BuildContext", "Kind", "ProcessSpec"]

KINDS: dict[str, Kind] = {
    **services.KINDS,
    "etcd": etcd.KIND,
    "ledger": ledger.KIND,
    "haproxy": haproxy.KIND,
    "prometheus": prometheus.KIND,
    "alertmanager": alertmanager.KIND,
    "faultproxy": faultproxy.KIND,
}

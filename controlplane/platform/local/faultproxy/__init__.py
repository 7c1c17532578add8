"""The in-path fault proxy: one process per cluster carries every dependency link (e.g.
gateway->matcher-0) over TCP and applies latency, jitter, bandwidth caps, resets and
blackholes to it at runtime, as a service-mesh sidecar would where `tc netem` is missing.

- `python -m controlplane.platform.local.faultproxy --config <path.json>` (see `config`)
- the admin HTTP API (see `admin`), and `FaultProxyClient` to drive it (see `client`)
- what a fault spec means: see `spec`

Every fault carries a `ttl_s` and reverts itself, even if whoever set it is gone.
"""

from controlplane.platform.local.faultproxy.client import FaultProxyClient, InvalidFault
from controlplane.platform.local.faultproxy.config import ProxyConfig, load_config
from controlplane.platform.local.faultproxy.spec import FaultSpec, parse_spec

__all__ = ["FaultProxyClient", "FaultSpec", "InvalidFault", "ProxyConfig", "load_config",
           "parse_spec"]

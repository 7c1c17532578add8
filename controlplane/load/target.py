"""The load target: the cluster's gateway, and the rule that load only goes to loopback."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from controlplane.errors import InvalidInput
from controlplane.platform.base import Platform

__all__ = ["gateway_url", "loopback_url"]


def loopback_url(url: str, field: str = "--host") -> str:
    """`url` unchanged if it is http(s) and every address of its host is in 127.0.0.0/8
    (or ::1); load is never sent anywhere else from here."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("must be an http:// URL", field=field, value=url,
                           fix="e.g. http://127.0.0.1:18080")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise InvalidInput(f"cannot resolve the host: {err}", field=field, value=url) from None
    addresses = {info[4][0] for info in infos}
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise InvalidInput("load is only sent to this machine (127.0.0.0/8 or ::1); the host "
                           f"resolves to {', '.join(sorted(addresses))}", field=field,
                           value=url)
    return url.rstrip("/")


def gateway_url(platform: Platform) -> str:
    """The first gateway instance's HTTP endpoint."""
    gateways = [i for i in platform.instances("gateway") if "http" in i.endpoints]
    if not gateways:
        raise InvalidInput("the cluster has no gateway with an http endpoint",
                           field="gateway")
    return loopback_url(gateways[0].endpoints["http"], field="gateway")

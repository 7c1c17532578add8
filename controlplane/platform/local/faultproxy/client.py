"""A small synchronous client of the proxy's admin API (stdlib only).

    proxy = FaultProxyClient("http://127.0.0.1:9000")
    proxy.set_fault("gateway->matcher-0", {"latency_ms": 200, "ttl_s": 60})
    proxy.clear("gateway->matcher-0")

An unknown link raises `UnknownTarget` listing the valid ones; a refused spec raises
`InvalidFault` (both an `InvalidInput` and a `PlatformError`) naming the field; an
unreachable proxy or any other failure raises `PlatformError`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from controlplane.errors import ControlPlaneError, InvalidInput, PlatformError, UnknownTarget

__all__ = ["FaultProxyClient", "InvalidFault"]


class InvalidFault(InvalidInput, PlatformError):
    """The proxy refused a fault spec (HTTP 400); `field` and `value` say what is wrong."""

    def __init__(self, text: str, field: str, value: object) -> None:
        ControlPlaneError.__init__(self, text)
        self.source, self.field, self.value, self.fix = "fault spec", field, value, ""


class FaultProxyClient:
    def __init__(self, admin_url: str, *, timeout: float = 5.0,
                 token: str | None = None) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._timeout = timeout
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def links(self) -> list[dict[str, Any]]:
        """Every link: name, listen, upstream, fault, ttl_remaining_s, connections, bytes."""
        return list(self._call("GET", "/v1/links")["links"])

    def link(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", _link_path(name)))

    def set_fault(self, link: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Set (replace) the fault on `link`; the link as it is now."""
        return dict(self._call("PUT", _link_path(link) + "/fault", dict(spec)))

    def clear(self, link: str) -> bool:
        """Clear the fault on `link`; whether there was one."""
        return bool(self._call("DELETE", _link_path(link) + "/fault")["cleared"])

    def clear_all(self) -> list[str]:
        """Clear every fault; the links that had one."""
        return list(self._call("DELETE", "/v1/faults")["cleared"])

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        url = self.admin_url + path
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method,
                                         headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return _parse(url, response.read())
        except urllib.error.HTTPError as exc:
            raise _refusal(url, exc.code, _parse(url, exc.read(), strict=False)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PlatformError(f"the fault proxy at {self.admin_url} is unreachable: "
                                f"{reason}") from None


def _link_path(name: str) -> str:
    return "/v1/links/" + urllib.parse.quote(name, safe="")


def _parse(url: str, payload: bytes, strict: bool = True) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        if strict:
            raise PlatformError(f"{url} answered something that is not JSON: "
                                f"{payload[:200]!r}") from None
        return None


def _refusal(url: str, status: int, body: Any) -> ControlPlaneError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or f"HTTP {status}")
    if status == 404 and "valid" in error:
        return UnknownTarget("link", str(error.get("name")), list(error["valid"]))
    if status == 400:
        return InvalidFault(message, str(error.get("field") or ""), error.get("value"))
    return PlatformError(f"{url} answered HTTP {status}: {message}")

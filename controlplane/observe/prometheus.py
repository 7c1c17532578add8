"""A small synchronous client for the Prometheus HTTP API, on the standard library only.

Every failure is a `PrometheusError`: a rejected query names the expression and quotes
Prometheus's message; an unreachable server names the URL.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlencode

from controlplane.errors import PrometheusError
from controlplane.observe.promdata import (
    Sample,
    Series,
    Target,
    parse_samples,
    parse_series,
    parse_targets,
)

__all__ = ["PrometheusClient", "Sample", "Series", "Target"]

_LIFECYCLE_FIX = "start Prometheus with --web.enable-lifecycle"


class PrometheusClient:
    """Talks to one Prometheus; `timeout` bounds each HTTP request in seconds."""

    def __init__(self, base_url: str, timeout: float = 10.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """An instant query; a scalar result is one sample with no labels."""
        params = {"query": expr} | ({"time": repr(at)} if at is not None else {})
        return parse_samples(self._api("/api/v1/query", params, expr), expr)

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        params = {"query": expr, "start": repr(start), "end": repr(end), "step": repr(step)}
        return parse_series(self._api("/api/v1/query_range", params, expr), expr)

    def raw_samples(self, selector: str, start: float, end: float) -> list[Series]:
        """The scraped samples of `selector` between start and end, at their own timestamps
        (a range-vector query: no step, no lookback smoothing)."""
        window_ms = max(1, int((end - start) * 1000))
        expr = f"{selector}[{window_ms}ms]"
        return parse_series(self._api("/api/v1/query", {"query": expr, "time": repr(end)},
                                      expr), expr)

    def targets(self) -> list[Target]:
        """The active scrape targets and their health."""
        return parse_targets(self._api("/api/v1/targets", {"state": "active"}, None))

    def ready(self) -> bool:
        try:
            status, _ = self._request("GET", "/-/ready")
        except PrometheusError:
            return False
        return status == 200

    def wait_ready(self, timeout: float, interval: float = 0.2) -> None:
        deadline = self._clock() + timeout
        while not self.ready():
            if self._clock() >= deadline:
                raise PrometheusError(f"Prometheus at {self.base_url} is not ready after "
                                      f"{timeout:g}s; check that it runs and its log")
            self._sleep(interval)

    def reload(self) -> None:
        """Make Prometheus re-read its configuration (needs the lifecycle API)."""
        status, body = self._request("POST", "/-/reload")
        if status in (403, 404, 405):
            raise PrometheusError(f"Prometheus at {self.base_url} refused to reload "
                                  f"(HTTP {status}); {_LIFECYCLE_FIX}")
        if status != 200:
            raise PrometheusError(f"Prometheus at {self.base_url} failed to reload "
                                  f"(HTTP {status}): {body.decode(errors='replace').strip()}")

    def _api(self, path: str, params: dict[str, str], expr: str | None) -> object:
        """The `data` of a JSON API reply; POSTs the form so long expressions fit."""
        status, body = self._request("POST" if expr else "GET", path, params)
        what = f"query {expr!r}" if expr else path
        try:
            reply = json.loads(body)
        except ValueError:
            raise PrometheusError(f"Prometheus at {self.base_url} answered {what} with "
                                  f"HTTP {status} and no JSON") from None
        if not isinstance(reply, dict) or reply.get("status") != "success":
            error = reply.get("error", "") if isinstance(reply, dict) else ""
            kind = reply.get("errorType", "") if isinstance(reply, dict) else ""
            raise PrometheusError(f"Prometheus at {self.base_url} rejected {what} "
                                  f"(HTTP {status}, {kind or 'error'}): {error}")
        return reply.get("data")

    def _request(self, method: str, path: str,
                 params: dict[str, str] | None = None) -> tuple[int, bytes]:
        url = self.base_url + path
        form = urlencode(params or {})
        data = form.encode() if method == "POST" else None
        if method == "GET" and form:
            url += "?" + form
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise PrometheusError(f"cannot reach Prometheus at {url}: {reason}") from None

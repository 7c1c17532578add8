"""The testbed services' admin API (`/admin/faults`, `/admin/acks`), called straight at the
pod's `http` port with the admin token.

Why not through the API server's service or pod proxy: the API server removes the
`Authorization` header once it has authenticated the caller, so the service would never see
its admin token. Direct calls need a route to the pod IPs: the control plane runs in the
cluster (the controlplane chart), or on a machine on the pod network.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from controlplane.errors import InvalidInput, PlatformError

__all__ = ["admin_token", "call_admin"]


def admin_token(env: str) -> str:
    """The services' admin token, from the environment variable `env`."""
    token = os.environ.get(env, "")
    if not token:
        raise InvalidInput("the services' admin token is not set",
                           field="kubernetes.admin_token_env", value=env,
                           fix=f"Export {env} (the controlplane chart sets it from the "
                           "release's admin Secret)")
    return token


def call_admin(url: str, method: str, body: dict[str, Any] | None, token: str,
               timeout: float, instance_id: str) -> Any:
    """The JSON answer of one admin call; `PlatformError` when refused or unanswered."""
    req = urllib.request.Request(
        url, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        raise PlatformError(f"{instance_id} answered {err.code} to {method} {url}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise PlatformError(f"{instance_id} did not answer {method} {url}: {err}") from None

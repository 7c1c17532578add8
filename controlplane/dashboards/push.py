"""Upload the dashboards to a Grafana with grafana-client: find the folder by title or create
it, pin the Prometheus datasource by uid if asked, and save each dashboard with overwrite (the
JSON here is the source of truth; edits made in Grafana are replaced).

Every failure is a `GrafanaPushFailed` (exit 2) naming the URL and what to check: a refused
token (401, 403), an address that does not answer, any other error status.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from controlplane.dashboards.panels import DATASOURCE_VAR
from controlplane.errors import ControlPlaneError, InvalidInput

__all__ = ["GrafanaPushFailed", "Pushed", "pin_datasource", "push_dashboards"]

DEFAULT_FOLDER = "Control plane"
TIMEOUT_S = 10.0
_VARIABLE_UID = "${" + DATASOURCE_VAR + "}"


class GrafanaPushFailed(ControlPlaneError):
    """Grafana refused or did not answer: names the URL and the status."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Pushed:
    """One dashboard saved: where, and at which version."""

    name: str
    uid: str
    folder_uid: str
    version: int | None
    url: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def check_target(url: str, token: str) -> str:
    """The URL without a trailing slash, or InvalidInput for a bad URL or an empty token."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("must be an http:// or https:// URL of a Grafana", field="--url",
                           value=url, fix="e.g. --url http://127.0.0.1:3000")
    if not token.strip():
        raise InvalidInput("is empty", field="--token",
                           fix="give a Grafana service account token (Editor role or more)")
    return url.rstrip("/")


def pin_datasource(document: dict[str, Any], uid: str) -> dict[str, Any]:
    """A copy whose panels and queries use the datasource `uid` instead of the variable."""
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("type") == "prometheus" and node.get("uid") == _VARIABLE_UID:
                return {**node, "uid": uid}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return walk(copy.deepcopy(document))


def push_dashboards(url: str, token: str, documents: dict[str, dict[str, Any]], *,
                    folder: str = DEFAULT_FOLDER, datasource_uid: str | None = None,
                    timeout: float = TIMEOUT_S) -> list[Pushed]:
    """Save every document (name -> dashboard JSON) into `folder` on the Grafana at `url`."""
    base = check_target(url, token)
    if not folder.strip():
        raise InvalidInput("is empty", field="--folder", fix="name the folder to upload into")
    api = GrafanaApi.from_url(base, credential=token, timeout=timeout)
    folder_uid = _call(base, "find or create the folder", lambda: _folder(api, folder))
    pushed = []
    for name, document in documents.items():
        doc = pin_datasource(document, datasource_uid) if datasource_uid else document
        body = {"dashboard": {**doc, "id": None}, "folderUid": folder_uid, "overwrite": True,
                "message": "controlplane dashboards push"}
        saved = _call(base, f"save the dashboard {name!r}",
                      lambda body=body: api.dashboard.update_dashboard(body))
        pushed.append(Pushed(name, str(saved.get("uid", doc.get("uid"))), folder_uid,
                             saved.get("version"), saved.get("url")))
    return pushed


def _folder(api: GrafanaApi, title: str) -> str:
    for found in api.folder.get_all_folders():
        if found.get("title") == title:
            return str(found["uid"])
    return str(api.folder.create_folder(title)["uid"])


def _call(base: str, doing: str, fn: Any) -> Any:
    try:
        return fn()
    except GrafanaException as err:
        raise GrafanaPushFailed(_refusal(base, doing, err)) from None
    except OSError as err:                  # niquests' ConnectionError is an OSError
        raise GrafanaPushFailed(f"{base} does not answer (could not {doing}): "
                                f"{type(err).__name__}; check --url and that Grafana "
                                "runs there") from None


def _refusal(base: str, doing: str, err: GrafanaException) -> str:
    status = err.status_code
    if status in (401, 403):
        why = "rejects the token" if status == 401 else "denies the token this action"
        return (f"{base}: Grafana {why} ({status}) and we could not {doing}; give a service "
                "account token with the Editor role (or more) via --token")
    if status == 0:
        return f"{base} does not answer (could not {doing}): {err.message}"
    detail = err.response if isinstance(err.response, str) else json.dumps(err.response)
    return f"{base}: Grafana answered {status} when we tried to {doing}: {detail[:300]}"

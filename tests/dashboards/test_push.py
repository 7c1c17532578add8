"""`dashboards push` at the HTTP seam: the real grafana-client against a local server that
answers Grafana's folder and dashboard API as Grafana 11 does (GET/POST /api/folders,
POST /api/dashboards/db). It checks the exact requests (paths, bearer token, bodies with
overwrite true, folderUid and the pinned datasource uid in every panel and query) and the
errors for a refused token (401, 403) and an address that does not answer: exit 2, the URL
named, no traceback.

Not covered: Grafana itself. No real Grafana runs here, so nothing checks that Grafana
accepts the dashboard model, renders the panels, or that the datasource uid exists there;
the server below only answers with the shapes Grafana's HTTP API documents."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from controlplane.cli import cli, main
from controlplane.dashboards import BOARDS
from tests.support.net import free_port

TOKEN = "glsa_test_token"


@dataclass
class FakeGrafana:
    """What the server was asked, and how it answers."""

    folders: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, str | None, Any]] = field(default_factory=list)
    status: int = 200                   # 401 or 403 to refuse every request
    url: str = ""


def _handler(grafana: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            grafana.requests.append((self.command, self.path,
                                     self.headers.get("Authorization"), body))
            return body

        def do_GET(self) -> None:
            self._record()
            if grafana.status != 200:
                self._reply(grafana.status, {"message": "invalid API key"})
            elif self.path.startswith("/api/folders"):
                self._reply(200, grafana.folders)
            else:
                self._reply(404, {"message": "not found"})

        def do_POST(self) -> None:
            body = self._record()
            if grafana.status != 200:
                self._reply(grafana.status, {"message": "permission denied"})
            elif self.path == "/api/folders":
                folder = {"uid": "fold-1", "title": body["title"], "id": 7}
                grafana.folders.append(folder)
                self._reply(200, folder)
            elif self.path == "/api/dashboards/db":
                uid = body["dashboard"]["uid"]
                self._reply(200, {"id": 1, "uid": uid, "status": "success", "version": 3,
                                  "url": f"/d/{uid}/x", "slug": "x"})
            else:
                self._reply(404, {"message": "not found"})
    return Handler


@contextmanager
def fake_grafana(**kwargs: Any) -> Iterator[FakeGrafana]:
    grafana = FakeGrafana(**kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(grafana))
    grafana.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield grafana
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def push(url: str, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["dashboards", "push", "--url", url, "--token", TOKEN,
                                    *extra])


def test_push_creates_the_folder_and_saves_every_dashboard_pinned_to_the_uid() -> None:
    with fake_grafana() as grafana:
        result = push(grafana.url, "--folder", "Trading", "--datasource-uid", "prom-1",
                      "--json")
    assert result.exit_code == 0, result.output
    assert [r["uid"] for r in json.loads(result.output)["dashboards"]] == [
        "cp-availability", "cp-slos", "cp-drills", "cp-load", "cp-gamedays"]
    calls = [(m, p) for m, p, _, _ in grafana.requests]
    assert calls == [("GET", "/api/folders"), ("POST", "/api/folders")] + [
        ("POST", "/api/dashboards/db")] * len(BOARDS)
    assert {auth for _, _, auth, _ in grafana.requests} == {f"Bearer {TOKEN}"}
    assert grafana.requests[1][3] == {"title": "Trading"}
    for _, _, _, body in grafana.requests[2:]:
        assert body["overwrite"] is True and body["folderUid"] == "fold-1"
        assert body["dashboard"]["id"] is None
        for panel in body["dashboard"]["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "prom-1"}
            assert {t["datasource"]["uid"] for t in panel["targets"]} == {"prom-1"}


def test_push_reuses_a_folder_of_that_title_and_keeps_the_variable() -> None:
    with fake_grafana(folders=[{"uid": "old-9", "title": "Control plane", "id": 2}]) as g:
        result = push(g.url, "--only", "slos")
    assert result.exit_code == 0, result.output
    assert [(m, p) for m, p, _, _ in g.requests] == [("GET", "/api/folders"),
                                                    ("POST", "/api/dashboards/db")]
    body = g.requests[1][3]
    assert body["folderUid"] == "old-9" and body["dashboard"]["uid"] == "cp-slos"
    assert body["dashboard"]["panels"][0]["datasource"]["uid"] == "${datasource}"


@pytest.mark.parametrize(("status", "says"), [(401, "rejects the token (401)"),
                                              (403, "denies the token this action (403)")])
def test_a_refused_token_is_exit_2_naming_the_url(status: int, says: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with fake_grafana(status=status) as grafana:
        code = _main(["dashboards", "push", "--url", grafana.url, "--token", TOKEN])
    err = capsys.readouterr().err
    assert code == 2 and grafana.url in err and says in err and "Traceback" not in err


def test_an_address_that_does_not_answer_is_exit_2_naming_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = _main(["dashboards", "push", "--url", url, "--token", TOKEN])
    err = capsys.readouterr().err
    assert code == 2 and f"{url} does not answer" in err and "Traceback" not in err


@pytest.mark.parametrize(("args", "says"), [
    (["--url", "ftp://grafana", "--token", TOKEN], "--url"),
    (["--url", "not a url", "--token", TOKEN], "--url"),
    (["--url", "http://127.0.0.1:3000", "--token", " "], "--token"),
    (["--url", "http://127.0.0.1:3000"], "--token"),
    (["--url", "http://127.0.0.1:3000", "--token", TOKEN, "--datasource-uid", ""],
     "--datasource-uid"),
])
def test_bad_input_is_exit_2_naming_the_option(args: list[str], says: str,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    code = _main(["dashboards", "push", *args])
    err = capsys.readouterr().err
    assert code == 2 and says in err and "Traceback" not in err


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return int(exited.value.code or 0)

"""A small Kubernetes API server for tests, on loopback, with a little controller behaviour.

Written here rather than with `kmock`: kmock's Kubernetes emulator stores and returns objects
but selects by name only (no label selectors), has no scale subresource, makes no uids or
timestamps and runs no controllers; this mock needs all of those, and is synchronous (a
`ThreadingHTTPServer` in a thread), so the platform's synchronous client talks to it as to a
real API server: real HTTP, real JSON, the real `kubernetes` client and its models.

What it serves: API discovery (`GET /apis`), and for the namespaces it is given: pods (list,
get, delete), StatefulSets and Deployments (get; their `scale` subresource: get, patch),
ConfigMaps (get), NetworkPolicies and Chaos Mesh's NetworkChaos and StressChaos (create, list
by label selector, get, delete) when their group is served. Every request is recorded
(method, path, query, body); `forbid` makes the API server answer 403 to one (group, resource,
verb), at once or after some calls passed, as RBAC would.

The controller simulation, after every change, in the same request: a StatefulSet has exactly
the pods `<name>-0 .. <name>-(replicas-1)`; a Deployment exactly `replicas` pods named
`<name>-<5 letters>` (a scale-down removes the youngest). A deleted pod is replaced at once by
a new pod (a new uid), running and ready. A testbed service's pod gets its own small admin
server (GET/PUT/DELETE /admin/faults, GET /admin/acks) on a loopback port, named `http` in its
container ports, that goes away with the pod. The ledger's pod 0 is labelled `role=primary`,
the others `role=replica`, and `<ledger>-sync` names pod 1 the synchronous standby.

What it does not do: no scheduler, no kubelet, no nodes, no real network (a NetworkPolicy or a
NetworkChaos is stored, nothing is enforced), no real Chaos Mesh (no `duration` is acted on),
no grace periods (a pod goes at once), no watches, no admission, no authentication.
"""

from __future__ import annotations

import itertools
import json
import random
import string
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["AdminServer", "MockCluster", "Recorded", "kubeconfig"]

SERVICE_KINDS = ("gateway", "matcher", "marketdata")
GROUP_VERSIONS = {"apps": "v1", "networking.k8s.io": "v1", "chaos-mesh.org": "v1alpha1"}
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    content_type: str


@dataclass
class Workload:
    kind: str
    name: str
    namespace: str
    labels: dict[str, str]
    replicas: int
    service_kind: str
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))


class AdminServer:
    """One service pod's admin API: its fault in memory, gone with the pod."""

    def __init__(self, token: str) -> None:
        self.fault: dict[str, Any] | None = None
        self.calls: list[tuple[str, str, str]] = []     # method, path, Authorization
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, data: Any, status: int = 200) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self) -> None:
                auth = self.headers.get("Authorization", "")
                outer.calls.append((self.command, self.path, auth))
                if auth != f"Bearer {token}":
                    return self._answer({"error": {"message": "unauthorized"}}, 401)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                self._answer(*outer.route(self.command, self.path, body))

            do_GET = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def route(self, method: str, path: str, body: Any) -> tuple[Any, int]:
        route = (method, urlsplit(path).path)
        if route == ("GET", "/admin/faults"):
            return {"fault": self.fault}, 200
        if route == ("PUT", "/admin/faults"):
            self.fault = dict(body or {})
            return {"fault": self.fault}, 200
        if route == ("DELETE", "/admin/faults"):
            was, self.fault = self.fault is not None, None
            return {"cleared": was}, 200
        if route == ("GET", "/admin/acks"):
            return {"since": 0, "covers_from": 0, "complete": True, "truncated": False,
                    "count": 0, "acks": []}, 200
        return {"error": {"message": "no such route"}}, 404

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class MockCluster:
    """The mock API server: start with `start()`, stop with `close()` (or use `with`)."""

    def __init__(self, *, chaos_mesh: bool = True, admin_token: str = "test-admin") -> None:
        self.lock = threading.RLock()
        self.groups = {"apps", "networking.k8s.io"} | ({"chaos-mesh.org"} if chaos_mesh else set())
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.workloads: dict[tuple[str, str], Workload] = {}
        self.requests: list[Recorded] = []
        self.forbidden: set[tuple[str, str, str]] = set()
        self.allowance: dict[tuple[str, str, str], int] = {}    # calls left before a 403
        self.admins: dict[str, AdminServer] = {}        # pod uid -> its admin server
        self.admin_token = admin_token
        self._ticks = itertools.count(1)
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # setup ------------------------------------------------------------------------------
    def add_workload(self, kind: str, name: str, *, component: str, release: str,
                     replicas: int, service_kind: str, namespace: str = "default") -> None:
        labels = {"app.kubernetes.io/name": component, "app.kubernetes.io/instance": release}
        with self.lock:
            self.workloads[(namespace, name)] = Workload(kind, name, namespace, labels,
                                                         replicas, service_kind)
            self.reconcile()

    def forbid(self, group: str, resource: str, verb: str, after: int = 0) -> None:
        """Answer 403 to `verb` on `resource` (after `after` calls that pass), as RBAC."""
        if after:
            self.allowance[(group, resource, verb)] = after
        else:
            self.forbidden.add((group, resource, verb))

    def refused(self, group: str, resource: str, verb: str) -> bool:
        key = (group, resource, verb)
        if key in self.allowance:
            self.allowance[key] -= 1
            if self.allowance[key] < 0:
                self.forbidden.add(key)
        return key in self.forbidden

    def start(self) -> MockCluster:
        handler = _handler(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            assert self.thread is not None
            self.thread.join()
            self.server = None
        with self.lock:
            for admin in self.admins.values():
                admin.close()
            self.admins.clear()

    def __enter__(self) -> MockCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reading back -----------------------------------------------------------------------
    def pods(self, namespace: str = "default") -> list[dict[str, Any]]:
        with self.lock:
            return [o for (g, p, ns, _), o in sorted(self.objects.items())
                    if (g, p, ns) == ("", "pods", namespace)]

    def of(self, group: str, plural: str, namespace: str = "default") -> list[dict[str, Any]]:
        with self.lock:
            return [o for (g, p, ns, _), o in sorted(self.objects.items())
                    if (g, p, ns) == (group, plural, namespace)]

    def admin_of(self, pod_name: str, namespace: str = "default") -> AdminServer:
        pod = self.objects[("", "pods", namespace, pod_name)]
        return self.admins[pod["metadata"]["uid"]]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    # the controllers --------------------------------------------------------------------
    def _now(self) -> str:
        return (EPOCH + timedelta(seconds=next(self._ticks))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def reconcile(self) -> None:
        with self.lock:
            for w in self.workloads.values():
                mine = {n: o for (g, p, ns, n), o in self.objects.items()
                        if (g, p, ns) == ("", "pods", w.namespace)
                        and o["metadata"].get("labels", {}).get("mock/owner") == w.name}
                if w.kind == "StatefulSet":
                    self._reconcile_ordinals(w, mine)
                else:
                    self._reconcile_replicas(w, mine)
                if w.service_kind == "ledger":
                    self._sync_map(w)

    def _reconcile_ordinals(self, w: Workload, mine: dict[str, dict[str, Any]]) -> None:
        wanted = {f"{w.name}-{i}": i for i in range(w.replicas)}
        for name in set(mine) - set(wanted):
            self._remove_pod(w.namespace, name)
        for name, ordinal in wanted.items():
            if name not in mine:
                self._make_pod(w, name, ordinal)

    def _reconcile_replicas(self, w: Workload, mine: dict[str, dict[str, Any]]) -> None:
        by_age = sorted(mine, key=lambda n: mine[n]["metadata"]["creationTimestamp"])
        for name in by_age[w.replicas:]:
            self._remove_pod(w.namespace, name)
        for _ in range(w.replicas - len(by_age)):
            suffix = "".join(random.choices(string.ascii_lowercase, k=5))
            self._make_pod(w, f"{w.name}-{suffix}", None)

    def _make_pod(self, w: Workload, name: str, ordinal: int | None) -> None:
        uid, now = str(uuid.uuid4()), self._now()
        labels = {**w.labels, "mock/owner": w.name}
        if ordinal is not None:
            labels["statefulset.kubernetes.io/pod-name"] = name
        if w.service_kind == "ledger":
            labels["role"] = "primary" if ordinal == 0 else "replica"
        ports = []
        if w.service_kind in SERVICE_KINDS:
            admin = AdminServer(self.admin_token)
            self.admins[uid] = admin
            ports = [{"name": "http", "containerPort": admin.port, "protocol": "TCP"}]
        self.objects[("", "pods", w.namespace, name)] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": w.namespace, "uid": uid, "labels": labels,
                         "creationTimestamp": now, "resourceVersion": "1"},
            "spec": {"containers": [{"name": "main", "image": "controlplane:test",
                                     "ports": ports}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1", "startTime": now,
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{
                           "name": "main", "image": "controlplane:test", "imageID": "sha",
                           "ready": True, "restartCount": 0,
                           "state": {"running": {"startedAt": now}}}]}}

    def _remove_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        pod = self.objects.pop(("", "pods", namespace, name), None)
        if pod is not None:
            admin = self.admins.pop(pod["metadata"]["uid"], None)
            if admin is not None:
                admin.close()
        return pod

    def _sync_map(self, w: Workload) -> None:
        self.objects[("", "configmaps", w.namespace, f"{w.name}-sync")] = {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{w.name}-sync", "namespace": w.namespace,
                         "annotations": {"leader": f"{w.name}-0",
                                         "sync_standby": f"{w.name}-1"}}}

    def workload_body(self, w: Workload) -> dict[str, Any]:
        api = "apps/v1"
        template = {"metadata": {"labels": w.labels},
                    "spec": {"containers": [{"name": "main", "image": "controlplane:test"}]}}
        return {"apiVersion": api, "kind": w.kind,
                "metadata": {"name": w.name, "namespace": w.namespace, "uid": w.uid,
                             "labels": w.labels},
                "spec": {"replicas": w.replicas, "selector": {"matchLabels": w.labels},
                         "template": template, "serviceName": w.name},
                "status": {"replicas": w.replicas}}

    def scale_body(self, w: Workload) -> dict[str, Any]:
        return {"apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": w.name, "namespace": w.namespace},
                "spec": {"replicas": w.replicas}, "status": {"replicas": w.replicas}}


def _handler(cluster: MockCluster) -> type[BaseHTTPRequestHandler]:
    from tests.platform.kubernetes.mockroutes import Routes

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            body = json.loads(raw) if raw else None
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with cluster.lock:
                cluster.requests.append(Recorded(self.command, url.path, query, body,
                                                 self.headers.get("Content-Type", "")))
                status, data = Routes(cluster).answer(self.command, url.path, query, body)
            out = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler


def kubeconfig(url: str, context: str = "mock", namespace: str = "default") -> dict[str, Any]:
    """A kubeconfig for the mock, with a bearer token (the mock checks none)."""
    return {"apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "mock", "cluster": {"server": url}}],
            "users": [{"name": "tester", "user": {"token": "mock-token"}}],
            "contexts": [{"name": context, "context": {"cluster": "mock", "user": "tester",
                                                       "namespace": namespace}}]}

"""The routes of the mock API server (`mockapi.MockCluster`): each request's path parsed into
(group, namespace, resource, name, subresource), RBAC's 403 when the test forbade it, and the
answer the API server would give, in its JSON shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.platform.kubernetes.mockapi import MockCluster, Workload

__all__ = ["Parsed", "Routes", "parse", "verb_of"]

STORED = {("networking.k8s.io", "networkpolicies"): "NetworkPolicy",
          ("chaos-mesh.org", "networkchaos"): "NetworkChaos",
          ("chaos-mesh.org", "stresschaos"): "StressChaos"}
WORKLOADS = {"statefulsets": "StatefulSet", "deployments": "Deployment"}


@dataclass(frozen=True)
class Parsed:
    group: str
    namespace: str
    resource: str
    name: str
    sub: str

    @property
    def full(self) -> str:
        return f"{self.resource}/{self.sub}" if self.sub else self.resource


def parse(path: str) -> Parsed | None:
    """A namespaced resource path, or None (discovery and anything else)."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if len(rest) < 3 or rest[0] != "namespaces":
        return None
    name = rest[3] if len(rest) > 3 else ""
    sub = rest[4] if len(rest) > 4 else ""
    return Parsed(group, rest[1], rest[2], name, sub)


def verb_of(method: str, parsed: Parsed) -> str:
    if method == "GET":
        return "get" if parsed.name else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]


def status(code: int, reason: str, message: str) -> tuple[int, dict[str, Any]]:
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


def matches(obj: dict[str, Any], selector: str) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    wanted = [p.split("=", 1) for p in selector.split(",") if p]
    return all(labels.get(k) == v for k, v in wanted)


class Routes:
    def __init__(self, cluster: MockCluster) -> None:
        self.c = cluster

    def answer(self, method: str, path: str, query: dict[str, str], body: Any
               ) -> tuple[int, Any]:
        if method == "GET" and path.rstrip("/") == "/apis":
            return 200, self._groups()
        parsed = parse(path)
        if parsed is None:
            return status(404, "NotFound", f"the server could not find {path}")
        if parsed.group and parsed.group not in self.c.groups:
            return status(404, "NotFound", f"the server could not find the requested "
                          f"resource ({parsed.group})")
        verb = verb_of(method, parsed)
        if self.c.refused(parsed.group, parsed.full, verb):
            return status(403, "Forbidden", f'{parsed.full} is forbidden: User "tester" '
                          f'cannot {verb} resource "{parsed.full}" in API group '
                          f'"{parsed.group}" in the namespace "{parsed.namespace}"')
        return self._route(verb, parsed, query, body)

    def _groups(self) -> dict[str, Any]:
        from tests.platform.kubernetes.mockapi import GROUP_VERSIONS
        groups = []
        for name in sorted(self.c.groups):
            gv = {"groupVersion": f"{name}/{GROUP_VERSIONS[name]}",
                  "version": GROUP_VERSIONS[name]}
            groups.append({"name": name, "versions": [gv], "preferredVersion": gv})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _route(self, verb: str, p: Parsed, query: dict[str, str], body: Any
               ) -> tuple[int, Any]:
        if p.resource in WORKLOADS and p.group == "apps":
            return self._workload(verb, p, body)
        if (p.group, p.resource) in STORED:
            return self._stored(verb, p, query, body)
        if (p.group, p.resource) == ("", "pods"):
            return self._pods(verb, p, query)
        if (p.group, p.resource, verb) == ("", "configmaps", "get"):
            return self._get(p)
        return status(405, "MethodNotAllowed", f"the mock does not serve {verb} {p.full}")

    def _get(self, p: Parsed) -> tuple[int, Any]:
        obj = self.c.objects.get((p.group, p.resource, p.namespace, p.name))
        if obj is None:
            return status(404, "NotFound", f'{p.resource} "{p.name}" not found')
        return 200, obj

    def _pods(self, verb: str, p: Parsed, query: dict[str, str]) -> tuple[int, Any]:
        if verb == "list":
            items = [o for o in self.c.pods(p.namespace)
                     if matches(o, query.get("labelSelector", ""))]
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                         "items": items}
        if verb == "get":
            return self._get(p)
        if verb == "delete":
            pod = self.c._remove_pod(p.namespace, p.name)
            if pod is None:
                return status(404, "NotFound", f'pods "{p.name}" not found')
            self.c.reconcile()
            return 200, pod
        return status(405, "MethodNotAllowed", f"the mock does not serve {verb} pods")

    def _workload(self, verb: str, p: Parsed, body: Any) -> tuple[int, Any]:
        w: Workload | None = self.c.workloads.get((p.namespace, p.name))
        if w is None or w.kind != WORKLOADS[p.resource]:
            return status(404, "NotFound", f'{p.resource}.apps "{p.name}" not found')
        if p.sub == "" and verb == "get":
            return 200, self.c.workload_body(w)
        if p.sub == "scale" and verb == "patch":
            w.replicas = int(body["spec"]["replicas"])
            self.c.reconcile()
            return 200, self.c.scale_body(w)
        if p.sub == "scale" and verb == "get":
            return 200, self.c.scale_body(w)
        return status(405, "MethodNotAllowed", f"the mock does not serve {verb} {p.full}")

    def _stored(self, verb: str, p: Parsed, query: dict[str, str], body: Any
                ) -> tuple[int, Any]:
        kind = STORED[(p.group, p.resource)]
        if verb == "create":
            name = body["metadata"]["name"]
            key = (p.group, p.resource, p.namespace, name)
            if key in self.c.objects:
                return status(409, "AlreadyExists", f'{p.resource} "{name}" already exists')
            obj = {**body, "kind": kind}
            obj["metadata"] = {**body["metadata"], "namespace": p.namespace,
                               "uid": str(uuid.uuid4()), "creationTimestamp": self.c._now()}
            self.c.objects[key] = obj
            return 201, obj
        if verb == "list":
            items = [o for o in self.c.of(p.group, p.resource, p.namespace)
                     if matches(o, query.get("labelSelector", ""))]
            return 200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {},
                         "items": items}
        if verb == "get":
            return self._get(p)
        if verb == "delete":
            if self.c.objects.pop((p.group, p.resource, p.namespace, p.name), None) is None:
                return status(404, "NotFound", f'{p.resource} "{p.name}" not found')
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Success"}
        return status(405, "MethodNotAllowed", f"the mock does not serve {verb} {p.full}")

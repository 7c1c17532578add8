"""The calls the platform makes to the API server, each named by its (group, resource, verb),
with the API server's refusals turned into the control plane's errors.

Every request goes through `Kube.call`, so a 403 names the verb and the resource and says
which Role grants them (`rbac.grant_hint`), a 404 of the namespace's workload says the
namespace or context may be wrong, and a refused connection is `Unreachable`. `rbac.RULES`
lists exactly the (group, resource, verb) these methods use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from controlplane.errors import PlatformError, Refused, Unreachable
from controlplane.platform.kubernetes.rbac import grant_hint

__all__ = ["CHAOS_GROUP", "CHAOS_VERSION", "Forbidden", "Kube", "Missing"]

CHAOS_GROUP, CHAOS_VERSION = "chaos-mesh.org", "v1alpha1"
T = TypeVar("T")


class Forbidden(Refused):
    """The API server's RBAC refused a call: names the verb and the resource."""

    exit_code = 2

    def __init__(self, verb: str, group: str, resource: str, namespace: str) -> None:
        self.verb, self.group, self.resource = verb, group, resource
        shown = f"{resource}.{group}" if group else resource
        super().__init__(f"the API server refused {verb} on {shown} in namespace "
                         f"{namespace!r} (403 Forbidden); {grant_hint(group, resource, verb)}")


class Missing(PlatformError):
    """The API server answered 404 for an object or a resource type."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        super().__init__(f"{what}: {detail}")


class Kube:
    """The typed Kubernetes APIs for one namespace, over one `ApiClient`."""

    def __init__(self, api: client.ApiClient, namespace: str, where: str,
                 timeout: float) -> None:
        self.api, self.namespace, self.where, self.timeout = api, namespace, where, timeout
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.net = client.NetworkingV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self._groups: set[str] | None = None

    def close(self) -> None:
        self.api.close()

    def call(self, verb: str, group: str, resource: str, fn: Callable[..., T],
             *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)`, its failures as typed errors naming `verb` on `resource`."""
        try:
            return fn(*args, _request_timeout=self.timeout, **kwargs)
        except ApiException as err:
            raise self._refusal(err, verb, group, resource) from None
        except Exception as err:
            if not _transport_error(err):
                raise
            raise Unreachable(f"the Kubernetes API server of {self.where} did not answer "
                              f"({type(err).__name__}: {err}); check the kubeconfig's server "
                              "address and that the cluster is up") from None

    def _refusal(self, err: ApiException, verb: str, group: str, resource: str
                 ) -> PlatformError:
        if err.status == 403:
            return Forbidden(verb, group, resource, self.namespace)
        if err.status == 401:
            return Refused(f"the API server of {self.where} did not accept our credentials "
                           "(401); renew the kubeconfig's token or certificate")
        message = _message(err)
        if err.status == 404:
            return Missing(f"{resource} in namespace {self.namespace!r} ({self.where})",
                           message or "not found")
        if err.status == 409:
            return Refused(f"{verb} {resource}: conflict (409): {message}")
        return PlatformError(f"{verb} {resource} in namespace {self.namespace!r} failed: "
                             f"{err.status} {err.reason}: {message}")

    # discovery (allowed to every authenticated user: no Role rule) -----------------------
    def served_groups(self) -> set[str]:
        """The API groups the server serves, read once (GET /apis)."""
        if self._groups is None:
            found = self.call("get", "", "(discovery)",
                              client.ApisApi(self.api).get_api_versions)
            self._groups = {g.name for g in found.groups}
        return self._groups

    # pods, workloads, configmaps --------------------------------------------------------
    def pods(self, selector: str) -> list[client.V1Pod]:
        return self.call("list", "", "pods", self.core.list_namespaced_pod, self.namespace,
                         label_selector=selector).items

    def pod(self, name: str) -> client.V1Pod:
        return self.call("get", "", "pods", self.core.read_namespaced_pod, name,
                         self.namespace)

    def delete_pod(self, name: str, grace: int | None) -> None:
        self.call("delete", "", "pods", self.core.delete_namespaced_pod, name,
                  self.namespace, grace_period_seconds=grace)

    def config_map(self, name: str) -> client.V1ConfigMap:
        return self.call("get", "", "configmaps", self.core.read_namespaced_config_map,
                         name, self.namespace)

    def workload(self, kind: str, name: str) -> Any:
        if kind == "StatefulSet":
            return self.call("get", "apps", "statefulsets",
                             self.apps.read_namespaced_stateful_set, name, self.namespace)
        return self.call("get", "apps", "deployments", self.apps.read_namespaced_deployment,
                         name, self.namespace)

    def scale(self, kind: str, name: str, replicas: int) -> None:
        body = {"spec": {"replicas": replicas}}
        if kind == "StatefulSet":
            self.call("patch", "apps", "statefulsets/scale",
                      self.apps.patch_namespaced_stateful_set_scale, name, self.namespace,
                      body, _content_type="application/merge-patch+json")
        else:
            self.call("patch", "apps", "deployments/scale",
                      self.apps.patch_namespaced_deployment_scale, name, self.namespace,
                      body, _content_type="application/merge-patch+json")

    # objects the platform creates --------------------------------------------------------
    def create(self, group: str, plural: str, body: dict[str, Any]) -> None:
        if group == "networking.k8s.io":
            self.call("create", group, plural, self.net.create_namespaced_network_policy,
                      self.namespace, body)
        else:
            self.call("create", group, plural, self.custom.create_namespaced_custom_object,
                      group, CHAOS_VERSION, self.namespace, plural, body)

    def listed(self, group: str, plural: str, selector: str) -> list[dict[str, Any]]:
        """The objects of `plural` matching `selector`, as plain dicts."""
        if group == "networking.k8s.io":
            found = self.call("list", group, plural, self.net.list_namespaced_network_policy,
                              self.namespace, label_selector=selector)
            return [self.api.sanitize_for_serialization(i) for i in found.items]
        found = self.call("list", group, plural, self.custom.list_namespaced_custom_object,
                          group, CHAOS_VERSION, self.namespace, plural,
                          label_selector=selector)
        return list(found.get("items", []))

    def delete(self, group: str, plural: str, name: str) -> bool:
        """Delete one object; False when it was already gone."""
        try:
            if group == "networking.k8s.io":
                self.call("delete", group, plural, self.net.delete_namespaced_network_policy,
                          name, self.namespace)
            else:
                self.call("delete", group, plural,
                          self.custom.delete_namespaced_custom_object, group, CHAOS_VERSION,
                          self.namespace, plural, name)
        except Missing:
            return False
        return True


def _transport_error(err: Exception) -> bool:
    """A connection that failed: an OSError, or an error of urllib3, the client's transport
    (matched by module: urllib3 is the client's dependency, not one we declare)."""
    return isinstance(err, OSError) or any(
        c.__module__.startswith("urllib3.") for c in type(err).__mro__)


def _message(err: ApiException) -> str:
    try:
        return str(json.loads(err.body or "{}").get("message", ""))
    except (ValueError, AttributeError):
        return str(err.body or "")[:200]

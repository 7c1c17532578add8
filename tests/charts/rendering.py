"""Render the charts in `charts/` offline with helm-python-sdk, and check the objects.

`Chart.render` runs Helm's own template engine (Helm v4's Go SDK through ctypes): the same
values coalescing and `values.schema.json` check as `helm template`, with no cluster, so
`lookup` returns nothing (the Secrets get fresh random values on each render).

Rendered objects are validated against the Kubernetes JSON schemas that kubernetes-validate
ships, in strict mode (an unknown field fails). The Prometheus Operator kinds have no built-in
schema; they are checked against `CRD_SCHEMAS` below, a small schema of the fields our charts
set (apiVersion, kind, metadata, and the spec keys), not the operator's full CRD.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import yaml

__all__ = ["CHARTS", "KUBE_VERSIONS", "VARIANTS", "Variant", "containers", "find", "pod_spec",
           "render", "validate"]

CHARTS = Path(__file__).resolve().parents[2] / "charts"
# The newest schemas kubernetes-validate ships, and three minors older.
KUBE_VERSIONS = ("1.37.0", "1.34.0")

Variant = tuple[str, str, dict[str, Any]]          # release name, namespace, values

VARIANTS: dict[str, dict[str, Variant]] = {
    "controlplane": {
        "default": ("cp", "trading", {}),
        "monitoring-on-persistence-off": ("cp", "trading", {
            "persistence": {"enabled": False},
            "monitoring": {"prometheusRule": {"enabled": True, "labels": {"release": "kps"}},
                           "serviceMonitor": {"enabled": True},
                           "podMonitor": {"enabled": True, "namespaces": ["trading"]}}}),
        "own-secret-no-project-files": ("ops-controlplane", "sre", {
            "credentials": {"existingSecret": "cp-machine-tokens"},
            "adminToken": {"secretName": "tb-trading-testbed"},
            "projectFiles": {"enabled": False},
            "serviceAccount": {"name": "controlplane-sa"},
            "serve": {"runbooks": False, "forwardOtlp": "http://otel:4318/v1/traces"},
            "extraEnv": [{"name": "LOG_LEVEL", "value": "debug"}]}),
    },
    "trading-testbed": {
        "default": ("tb", "trading", {}),
        "three-ledger-nodes": ("staging", "trading-staging", {
            "ledger": {"replicas": 3, "persistence": {"size": "20Gi", "storageClass": "fast"}},
            "matcher": {"replicas": 4, "engineCostMs": 2.5},
            "gateway": {"replicas": 2},
            "tracing": {"otlpEndpoint": "http://cp-controlplane.trading:4318/v1/traces",
                        "tokenSecret": {"name": "cp-controlplane-credentials"}}}),
        "own-secret": ("tb", "trading", {"secrets": {"existingSecret": "ledger-passwords"},
                                         "ledger": {"synchronousMode": False}}),
    },
    "locust": {
        "default": ("load", "trading", {}),
        "web-ui-and-shape": ("run-42", "load", {
            "host": "http://tb-gateway.trading:8080",
            "locustfiles": ["trading.py", "shapes/ramp.py"],
            "env": {"LOAD_ARRIVAL_RATE": "5"},
            "master": {"web": {"enabled": True}},
            "workers": {"replicas": 8}}),
        "many-workers": ("run-43", "load", {
            "locustfiles": ["open_orders.py"], "workers": {"replicas": 50},
            "master": {"users": 100000, "spawnRate": 500, "runTime": "10m",
                       "extraArgs": ["--loglevel=INFO"]}}),
    },
}


@cache
def _chart(name: str) -> helm_python.Chart:
    return helm_python.Chart.load(CHARTS / name)


def render(chart: str, values: dict[str, Any] | None = None, *, name: str = "r",
           namespace: str = "default") -> list[dict[str, Any]]:
    """Every object the chart renders (NOTES.txt and empty documents left out), in template
    path order. Renders are cached per arguments; each call gets its own copy."""
    return copy.deepcopy(_render(chart, json.dumps(values, sort_keys=True), name, namespace))


@cache
def _render(chart: str, values: str, name: str, namespace: str) -> list[dict[str, Any]]:
    manifests = _chart(chart).render(values=json.loads(values), name=name,
                                     namespace=namespace, is_install=True)
    objects: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects += [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc]
    return objects


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects
            if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template's spec of a workload, or None for other kinds."""
    if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
        return obj["spec"]["template"]["spec"]
    return None


def containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(workload name, container) for every container of every workload."""
    return [(o["metadata"]["name"], c) for o in objects if (spec := pod_spec(o))
            for c in spec["containers"]]


_META = {"type": "object", "required": ["name", "namespace", "labels"],
         "properties": {"name": {"type": "string"}, "namespace": {"type": "string"},
                        "labels": {"type": "object",
                                   "additionalProperties": {"type": "string"}}}}
_ENDPOINT = {"type": "object", "required": ["port", "path", "interval"],
             "additionalProperties": False,
             "properties": {"port": {"type": "string"}, "path": {"type": "string"},
                            "interval": {"type": "string"}, "authorization": {
                                "type": "object", "required": ["type", "credentials"]}}}


def _crd(spec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {"apiVersion": {"const": "monitoring.coreos.com/v1"},
                           "kind": {"type": "string"}, "metadata": _META,
                           "spec": {"type": "object", "additionalProperties": False, **spec}}}


_RULE = {"type": "object", "required": ["expr"], "additionalProperties": False,
         "properties": {"record": {"type": "string"}, "alert": {"type": "string"},
                        "expr": {"type": "string"}, "for": {"type": "string"},
                        "labels": {"type": "object"}, "annotations": {"type": "object"}},
         "oneOf": [{"required": ["record"]}, {"required": ["alert"]}]}
_SELECTOR = {"type": "object", "required": ["matchLabels"]}

# The Prometheus Operator kinds: no schema ships with kubernetes-validate, so these small
# schemas (our own statement of the monitoring.coreos.com/v1 fields we use) stand in.
CRD_SCHEMAS: dict[str, dict[str, Any]] = {
    "PrometheusRule": _crd({"required": ["groups"], "properties": {"groups": {
        "type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "rules"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "interval": {"type": "string"},
                           "rules": {"type": "array", "minItems": 1, "items": _RULE}}}}}}),
    "ServiceMonitor": _crd({"required": ["selector", "endpoints"], "properties": {
        "jobLabel": {"type": "string"}, "selector": _SELECTOR,
        "endpoints": {"type": "array", "minItems": 1, "items": _ENDPOINT}}}),
    "PodMonitor": _crd({"required": ["selector", "podMetricsEndpoints"], "properties": {
        "jobLabel": {"type": "string"}, "selector": _SELECTOR,
        "namespaceSelector": {"type": "object"},
        "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": _ENDPOINT}}}),
}


def validate(obj: dict[str, Any], kube_version: str) -> None:
    """Raise when `obj` does not validate (strict) for `kube_version`."""
    schema = CRD_SCHEMAS.get(obj["kind"])
    if schema is not None:
        jsonschema.validate(obj, schema)
        return
    kubernetes_validate.validate(obj, kube_version, strict=True)

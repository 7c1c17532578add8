"""Connecting to the API server the topology's `kubernetes:` block names.

In order: `in_cluster: true` uses the pod's service account (the controlplane chart's); else
the kubeconfig at `kubeconfig` (default: `$KUBECONFIG`, then `~/.kube/config`) with its
`context` (default: the current one). Bad settings are `InvalidInput` naming the field and the
value (a missing file, a context the file lacks, listing the ones it has); a server that does
not answer is `Unreachable`, raised by the first call. The namespace, unless `namespace` names
it, is the service account's in a pod, else the kubeconfig context's, else `default`.
"""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from controlplane.errors import InvalidInput
from controlplane.platform.kubernetes.api import Kube
from controlplane.topology import KubernetesSettings, Topology

__all__ = ["connect", "settings_of"]

RETRIES = 1          # urllib3 retries per request: a dead server fails fast
SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def settings_of(topology: Topology) -> KubernetesSettings:
    return topology.kubernetes or KubernetesSettings()


def connect(topology: Topology) -> Kube:
    """A `Kube` for the topology's namespace; nothing is sent yet."""
    settings = settings_of(topology)
    cfg = client.Configuration()
    if settings.in_cluster:
        where, namespace = _in_cluster(cfg), _sa_namespace()
    else:
        where, namespace = _from_kubeconfig(cfg, settings)
    cfg.retries = RETRIES
    return Kube(client.ApiClient(cfg), settings.namespace or namespace or "default", where,
                settings.request_timeout_s)


def _sa_namespace() -> str:
    try:
        return SA_NAMESPACE.read_text().strip()
    except OSError:
        return ""


def _in_cluster(cfg: client.Configuration) -> str:
    try:
        config.load_incluster_config(client_configuration=cfg)
    except ConfigException as err:
        raise InvalidInput(f"no in-cluster service account here ({err})",
                           field="kubernetes.in_cluster", value=True,
                           fix="Run the control plane in a pod with a ServiceAccount, or "
                           "set in_cluster: false and a kubeconfig") from None
    return "the in-cluster service account's cluster"


def _kubeconfig_path(settings: KubernetesSettings) -> Path:
    given = settings.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(given or "~/.kube/config").expanduser()


def _from_kubeconfig(cfg: client.Configuration, settings: KubernetesSettings
                     ) -> tuple[str, str]:
    """Load the kubeconfig into `cfg`: where it points, and its context's namespace."""
    path = _kubeconfig_path(settings)
    if not path.is_file():
        raise InvalidInput(f"no kubeconfig file at {path}", field="kubernetes.kubeconfig",
                           fix="Set kubernetes.kubeconfig (or $KUBECONFIG) "
                           "to your cluster's kubeconfig, or in_cluster: true in a pod")
    context = settings.context
    namespace = _context_namespace(path, context)
    try:
        config.load_kube_config(config_file=str(path), context=context,
                                client_configuration=cfg, persist_config=False)
    except (ConfigException, ValueError, TypeError, KeyError, OSError) as err:
        raise InvalidInput(f"unusable kubeconfig ({err})", field="kubernetes.kubeconfig",
                           value=str(path), fix="Check the file with "
                           "`kubectl config view --kubeconfig <file>`") from None
    return f"context {context or '(current)'} of {path}", namespace


def _context_namespace(path: Path, context: str | None) -> str:
    """The namespace of `context` (None: the current one); `InvalidInput` for a context the
    file lacks, listing the ones it has."""
    try:
        contexts, active = config.list_kube_config_contexts(config_file=str(path))
    except (ConfigException, ValueError, TypeError, OSError) as err:
        raise InvalidInput(f"unusable kubeconfig ({err})", field="kubernetes.kubeconfig",
                           value=str(path)) from None
    by_name = {c["name"]: c for c in contexts or []}
    if context is not None and context not in by_name:
        raise InvalidInput(f"the kubeconfig {path} has no such context",
                           field="kubernetes.context", value=context,
                           fix=f"Use one of: {', '.join(by_name) or '(none)'}")
    chosen = by_name.get(context) if context is not None else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "")

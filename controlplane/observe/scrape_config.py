"""Prometheus scrape configuration generated from the topology.

Targets live in one file_sd JSON file per service, so scaling a service or restarting it on
another port changes only that file, which Prometheus watches; no reload is needed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["ScrapeTarget", "render_prometheus_config", "write_targets"]


@dataclass(frozen=True)
class ScrapeTarget:
    service: str        # job name
    instance_id: str    # "ledger-0"
    address: str        # "127.0.0.1:8008"
    kind: str
    tier: str
    metrics_path: str = "/metrics"


def render_prometheus_config(jobs: dict[str, str], targets_dir: Path, *, cluster: str,
                             scrape_interval: str = "1s", rule_files: list[str] | None = None,
                             alertmanagers: list[str] | None = None,
                             alertmanager_credentials: Path | None = None,
                             job_credentials: dict[str, Path] | None = None) -> str:
    """`jobs` maps a service name to its metrics path. `alertmanager_credentials` and
    `job_credentials` (by job) name files holding a bearer token Prometheus sends."""
    job_credentials = job_credentials or {}
    timeout = _timeout_for(scrape_interval)
    config: dict = {
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": timeout,
                   "evaluation_interval": scrape_interval,
                   "external_labels": {"cluster": cluster}},
        "scrape_configs": [
            {"job_name": job, "metrics_path": path,
             "file_sd_configs": [{"files": [str(targets_dir / f"{job}.json")],
                                  "refresh_interval": "5s"}],
             **_bearer(job_credentials.get(job))}
            for job, path in sorted(jobs.items())
        ],
    }
    if rule_files:
        config["rule_files"] = rule_files
    if alertmanagers:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}],
                                                 **_bearer(alertmanager_credentials)}]}
    return yaml.safe_dump(config, sort_keys=False)


def _bearer(credentials: Path | None) -> dict[str, object]:
    return ({} if credentials is None else
            {"authorization": {"type": "Bearer", "credentials_file": str(credentials)}})


def _timeout_for(interval: str) -> str:
    """A scrape timeout a little under the interval (Prometheus requires timeout <= interval)."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for suffix in ("ms", "s", "m"):
        if interval.endswith(suffix):
            seconds = float(interval[: -len(suffix)]) * units[suffix]
            return f"{max(int(seconds * 800), 100)}ms"
    raise ValueError(f"unsupported interval {interval!r}")


def write_targets(targets_dir: Path, service: str, targets: list[ScrapeTarget]) -> Path:
    groups = [{"targets": [t.address],
               "labels": {"instance_id": t.instance_id, "kind": t.kind, "tier": t.tier}}
              for t in targets]
    path = targets_dir / f"{service}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups, indent=1))
    os.replace(tmp, path)   # atomic, so Prometheus never reads half a file
    return path

"""Experiment files: loading, validation (Chaos Toolkit's own, then ours), and selection by
file, directory, tag selector or suite."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from chaoslib.exceptions import ChaosException
from chaoslib.experiment import ensure_experiment_is_valid

from controlplane.errors import InvalidInput

__all__ = ["EXPERIMENTS_DIR", "REQUIRED_TAGS", "Experiment", "InvalidExperiment",
           "load_experiment", "planned_faults", "read_experiment", "select"]

EXPERIMENTS_DIR = Path(__file__).resolve().parents[2] / "experiments"
REQUIRED_TAGS = ("fault", "component", "severity", "runbook")
SEVERITIES = ("low", "medium", "high", "critical")


class InvalidExperiment(InvalidInput):
    """An experiment file that Chaos Toolkit or our own rules refuse."""


@dataclass(frozen=True)
class Experiment:
    path: Path
    data: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.data.get("title", self.path.stem))

    @property
    def tags(self) -> list[str]:
        return list(self.data.get("tags", []))

    def tag(self, key: str) -> str | None:
        for tag in self.tags:
            k, _, v = tag.partition(":")
            if k == key:
                return v
        return None

    def matches(self, selector: dict[str, str]) -> bool:
        return all(self.tag(k) == v for k, v in selector.items())


def _read(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as err:
        raise InvalidExperiment(f"cannot read: {err.strerror}", source=str(path),
                                fix="Pass an existing experiment file") from None
    try:
        return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise InvalidExperiment(f"not valid {path.suffix.lstrip('.').upper()}: {err}",
                                source=str(path), fix="Fix the syntax") from None


def read_experiment(path: Path) -> Experiment:
    """The file as it is, without validation (for experiments others host)."""
    data = _read(path)
    if not isinstance(data, dict):
        raise InvalidExperiment("an experiment is a JSON object", source=str(path))
    return Experiment(path, data)


def load_experiment(path: Path) -> Experiment:
    data = _read(path)
    if not isinstance(data, dict):
        raise InvalidExperiment("an experiment is a JSON object", source=str(path))
    logging.getLogger("chaostoolkit").disabled = True     # its own logging is noise here
    try:
        ensure_experiment_is_valid(data)
    except ChaosException as err:
        raise InvalidExperiment(str(err), source=str(path),
                                fix="See https://chaostoolkit.org/reference/api/experiment/"
                                ) from None
    finally:
        logging.getLogger("chaostoolkit").disabled = False
    exp = Experiment(path, data)
    _check_ours(exp)
    return exp


def _check_ours(exp: Experiment) -> None:
    src = str(exp.path)
    strategy = exp.data.get("runtime", {}).get("rollbacks", {}).get("strategy")
    if strategy != "always":
        raise InvalidExperiment("rollbacks must always run, even after an interrupted run",
                                source=src, field="runtime.rollbacks.strategy", value=strategy,
                                fix='Set "runtime": {"rollbacks": {"strategy": "always"}}')
    for key in REQUIRED_TAGS:
        if not exp.tag(key):
            raise InvalidExperiment(f"missing the {key}:<value> tag", source=src, field="tags",
                                    value=exp.tags, fix=f"Add a tag like \"{key}:...\"")
    if exp.tag("severity") not in SEVERITIES:
        raise InvalidExperiment("unknown severity", source=src, field="tags",
                                value=exp.tag("severity"), fix=f"Use one of {SEVERITIES}")
    if not exp.data.get("steady-state-hypothesis", {}).get("probes"):
        raise InvalidExperiment("a steady-state hypothesis made of SLO probes is required",
                                source=src, field="steady-state-hypothesis",
                                fix="Add probes from controlplane.chaos.probes")
    for i, fault in enumerate(planned_faults(exp)):
        _check_fault(src, i, fault)
    if not exp.data.get("rollbacks"):
        raise InvalidExperiment("rollbacks are required (revert_run_faults)", source=src,
                                field="rollbacks", fix="Add the revert_run_faults action")


def _check_fault(src: str, index: int, fault: dict[str, Any]) -> None:
    from controlplane.chaos.faults import FAULTS

    field = f"method[{index}].provider.arguments"
    if fault["kind"] not in FAULTS:
        raise InvalidExperiment("unknown fault kind", source=src, field=f"{field}.kind",
                                value=fault["kind"], fix=f"Use one of: {', '.join(sorted(FAULTS))}")
    if not isinstance(fault["target"], str) or not fault["target"]:
        raise InvalidExperiment("a target is required", source=src, field=f"{field}.target",
                                fix="Name a component, an instance or ledger:primary")
    if fault["pick"] not in ("one", "all"):
        raise InvalidExperiment("pick is one or all", source=src, field=f"{field}.pick",
                                value=fault["pick"])
    try:
        FAULTS[fault["kind"]].parse(fault["parameters"], source=src)
    except InvalidInput as err:
        raise InvalidExperiment(err.message, source=src, field=f"{field}.{err.field}",
                                value=err.value, fix=err.fix) from None


def planned_faults(exp: Experiment) -> list[dict[str, Any]]:
    """The inject_fault calls of the method: what guardrails must judge before the run."""
    out = []
    for activity in exp.data.get("method", []):
        provider = activity.get("provider", {})
        if provider.get("func") == "inject_fault":
            args = provider.get("arguments", {})
            out.append({"kind": args.get("kind"), "target": args.get("target"),
                        "parameters": args.get("parameters") or {},
                        "pick": args.get("pick", "one")})
    return out


def _selector(text: str) -> dict[str, str]:
    pairs = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise InvalidInput("a tag selector is key=value[,key=value...]", field="selector",
                               value=text, fix="For example: fault=process-kill,component=gateway")
        pairs[key.strip()] = value.strip()
    return pairs


def select(spec: str, root: Path = EXPERIMENTS_DIR,
           suites: dict[str, list[str]] | None = None) -> list[Path]:
    """A file, a directory, a tag selector (`fault=process-kill`) or a suite name."""
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if not p.name.startswith("_"))
    if suites and spec in suites:
        return sorted({p for s in suites[spec] for p in select(s, root)})
    if "=" in spec:
        wanted = _selector(spec)
        return [p for p in sorted(root.rglob("*.json"))
                if not p.name.startswith("_") and Experiment(p, _read(p)).matches(wanted)]
    raise InvalidInput("no such experiment file, directory, selector or suite", field="target",
                       value=spec, fix="Pass a file, a directory, key=value tags, or one of "
                       f"the suites: {', '.join(sorted(suites or {})) or '(none)'}")

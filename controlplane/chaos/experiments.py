"""Experiment files: loading, validation (Chaos Toolkit's own, then ours), and selection by
file, directory, tag selector or suite."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaoslib.exceptions import ChaosException
from chaoslib.experiment import ensure_experiment_is_valid

from controlplane.errors import InvalidInput, quote
from controlplane.project import project_folder
from controlplane.runbooks.links import NO_RUNBOOK, runbook_names
from controlplane.suggest import closest, fix_for
from controlplane.userfiles import read_document

if TYPE_CHECKING:
    from controlplane.topology import Topology

__all__ = [
    "EXPERIMENTS_DIR",
    "REQUIRED_TAGS",
    "Experiment",
    "InvalidExperiment",
    "activities",
    "in_catalogue",
    "load_any_experiment",
    "load_experiment",
    "load_user_experiment",
    "planned_faults",
    "read_experiment",
    "select",
    "unknown_runbook",
    "user_notices",
]

EXPERIMENTS_DIR = project_folder("experiments")
REQUIRED_TAGS = ("fault", "component", "severity", "runbook")
SEVERITIES = ("low", "medium", "high", "critical")
MAX_SECONDS = 3600              # a pause or timeout longer than an hour is a typo


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
    syntax = "yaml" if path.suffix in (".yaml", ".yml") else "json"
    return read_document(path, syntax=syntax, error=InvalidExperiment,
                         fix="Pass an existing experiment file")


def read_experiment(path: Path) -> Experiment:
    """The file as it is, without our rules (for experiments others host), but with sane
    pauses and timeouts, and no key that is a near miss of one Chaos Toolkit reads."""
    return _parsed(path, strict=False)


def _parsed(path: Path, strict: bool) -> Experiment:
    data = _read(path)
    if not isinstance(data, dict):
        raise InvalidExperiment("an experiment is a JSON object", source=str(path))
    _check_keys(str(path), data, strict)
    _check_shape(str(path), data)
    _check_timings(str(path), data)
    return Experiment(path, data)


SHAPES: dict[str, type] = {
    "title": str, "description": str, "tags": list, "method": list, "rollbacks": list,
    "steady-state-hypothesis": dict, "runtime": dict, "configuration": dict, "secrets": dict,
    "controls": list, "extensions": list, "contributions": dict,
}


def _check_shape(src: str, data: dict[str, Any]) -> None:
    """The top-level fields Chaos Toolkit and we read have the type both expect."""
    for key, kind in SHAPES.items():
        if key in data and not isinstance(data[key], kind):
            raise InvalidExperiment(f"must be a {_TYPE_WORDS[kind.__name__]}", source=src,
                                    field=key, value=data[key],
                                    fix="See https://chaostoolkit.org/reference/api/experiment/")
    if not all(isinstance(tag, str) for tag in data.get("tags", [])):
        raise InvalidExperiment("tags are strings like fault:process-kill", source=src,
                                field="tags", value=data["tags"])
    runtime = data.get("runtime", {})
    if "rollbacks" in runtime and not isinstance(runtime["rollbacks"], dict):
        raise InvalidExperiment("must be a mapping", source=src, field="runtime.rollbacks",
                                value=runtime["rollbacks"], fix='Use {"strategy": "always"}')


_TYPE_WORDS = {"str": "string", "list": "list", "dict": "mapping"}

# The keys Chaos Toolkit reads (https://chaostoolkit.org/reference/api/experiment/).
TOP_KEYS = ("version", "title", "description", "tags", "contributions", "configuration",
            "secrets", "extensions", "controls", "steady-state-hypothesis", "method",
            "rollbacks", "runtime", "dry")
HYPOTHESIS_KEYS = ("title", "probes", "controls")
RUNTIME_KEYS = ("rollbacks", "hypothesis")
ACTION_KEYS = ("type", "name", "provider", "pauses", "background", "ref", "timeout", "dry",
               "controls")
ACTIVITY_KEYS = {"action": ACTION_KEYS, "probe": (*ACTION_KEYS, "tolerance")}
PROVIDER_KEYS = {
    "python": ("type", "module", "func", "arguments", "secrets"),
    "http": ("type", "url", "method", "headers", "expected_status", "arguments", "timeout",
             "verify_tls", "max_retries", "secrets"),
    "process": ("type", "path", "arguments", "timeout", "secrets"),
}


def _check_keys(src: str, data: dict[str, Any], strict: bool) -> None:
    """No key Chaos Toolkit would silently ignore: a near miss of a known key is a typo
    ("did you mean"); with `strict` (our catalogue's rules) any unknown key is refused."""
    _known_keys(src, "", data, TOP_KEYS, "top-level keys", strict)
    for key, valid in (("steady-state-hypothesis", HYPOTHESIS_KEYS),
                       ("runtime", RUNTIME_KEYS)):
        if isinstance(data.get(key), dict):
            _known_keys(src, f"{key}.", data[key], valid, f"keys of {key}", strict)
    for where, activity in activities(data):
        if isinstance(activity, dict):
            _check_activity_keys(src, where, activity, strict)


def _check_activity_keys(src: str, where: str, activity: dict[str, Any], strict: bool) -> None:
    kind = _one_of(activity.get("type"), ACTIVITY_KEYS) or "activity"
    name = activity.get("name")
    named = f"the {kind} {quote(name)}" if isinstance(name, str) else f"this {kind}"
    valid = ACTIVITY_KEYS.get(kind, ACTIVITY_KEYS["probe"])
    _known_keys(src, f"{where}.", activity, valid, f"keys of a {kind}", strict,
                f" in {named}")
    provider = activity.get("provider")
    kind = _one_of(provider.get("type"), PROVIDER_KEYS) if isinstance(provider, dict) else None
    if kind:
        _known_keys(src, f"{where}.provider.", provider, PROVIDER_KEYS[kind],
                    f"keys of a {kind} provider", strict, f" in the provider of {named}")


def _one_of(value: Any, names: dict[str, Any]) -> str | None:
    return value if isinstance(value, str) and value in names else None


def _known_keys(src: str, where: str, mapping: dict[Any, Any], valid: tuple[str, ...],
                what: str, strict: bool, context: str = "") -> None:
    for key in mapping:
        if key in valid or not (strict or closest(key, valid)):
            continue
        raise InvalidExperiment(f"unknown key{context}", source=src, field=f"{where}{key}",
                                value=key, fix=fix_for(key, valid, what))


def activities(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every probe of the hypothesis, action or probe of the method, and rollback, with its
    path in the file (`method[0]`)."""
    hypothesis = data.get("steady-state-hypothesis")
    probes = hypothesis.get("probes") if isinstance(hypothesis, dict) else None
    found = []
    for key, items in (("steady-state-hypothesis.probes", probes),
                       ("method", data.get("method")), ("rollbacks", data.get("rollbacks"))):
        if isinstance(items, list):
            found += [(f"{key}[{i}]", item) for i, item in enumerate(items)]
    return found


def _check_timings(src: str, data: dict[str, Any]) -> None:
    """Pauses and timeouts are seconds within MAX_SECONDS (or a ${variable})."""
    for where, activity in activities(data):
        if not isinstance(activity, dict):
            continue
        pauses = activity.get("pauses")
        timings = dict(pauses) if isinstance(pauses, dict) else {}
        timings = {f"pauses.{k}": v for k, v in timings.items()}
        if "timeout" in activity:
            timings["timeout"] = activity["timeout"]
        for name, value in timings.items():
            _check_seconds(src, f"{where}.{name}", value)


def _check_seconds(src: str, field: str, value: Any) -> None:
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not 0 <= value <= MAX_SECONDS:
        raise InvalidExperiment(f"must be a number of seconds from 0 to {MAX_SECONDS}",
                                source=src, field=field, value=value,
                                fix="Use seconds, or a ${variable} from the configuration")


def load_experiment(path: Path, topology: Topology | None = None) -> Experiment:
    """An experiment of our catalogue: Chaos Toolkit's rules, then ours (no unknown key,
    rollbacks always, the tags, an SLO hypothesis, known fault kinds). With `topology`, what
    its faults and probes name (targets, peers, links, services) must exist there."""
    exp = _parsed(path, strict=True)
    _check_chaoslib(exp)
    _check_ours(exp)
    if topology is not None:
        from controlplane.chaos.placement import check_placement

        check_placement(exp, topology)
    return exp


def in_catalogue(path: Path) -> bool:
    """Whether `path` is one of the catalogue's own files (under `experiments/`)."""
    return Path(path).resolve().is_relative_to(EXPERIMENTS_DIR.resolve())


def load_any_experiment(path: Path, topology: Topology | None = None
                        ) -> tuple[Experiment, list[str]]:
    """A catalogue file under the catalogue's rules (`load_experiment`), any other file as a
    user's own Chaos Toolkit experiment (`load_user_experiment`); with the notices to show."""
    if in_catalogue(path):
        return load_experiment(path, topology), []
    return load_user_experiment(path, topology)


def load_user_experiment(path: Path, topology: Topology | None = None
                         ) -> tuple[Experiment, list[str]]:
    """A Chaos Toolkit experiment a user brings, run under the guardrails as it is, with the
    notices that say how it is run. Refused only for what the guardrails cannot judge: no
    steady-state hypothesis (the guard would have nothing to abort on), a fault of ours with an
    unknown kind or bad parameters, or names the topology lacks. Rollbacks always run here
    whatever its `runtime` says, missing tags only leave it untagged in listings, and every
    fault it injects through `inject_fault` is reverted by the runner at the end, rollbacks or
    not."""
    exp = _parsed(path, strict=False)
    _check_chaoslib(exp)
    src = str(exp.path)
    if not exp.data.get("steady-state-hypothesis", {}).get("probes"):
        raise InvalidExperiment("the steady-state guard needs a hypothesis to judge the run by",
                                source=src, field="steady-state-hypothesis",
                                fix="Add a steady-state-hypothesis with at least one probe "
                                    "(controlplane.chaos.probes has the SLO probes)")
    for fault in planned_faults(exp):
        _check_fault(src, fault["index"], fault)
    if topology is not None:
        from controlplane.chaos.placement import check_placement

        check_placement(exp, topology)
    return exp, user_notices(exp)


def user_notices(exp: Experiment) -> list[str]:
    """How a user's experiment is run where it differs from what it says or lacks."""
    notices = []
    strategy = exp.data.get("runtime", {}).get("rollbacks", {}).get("strategy")
    if strategy != "always":
        notices.append(f"runtime.rollbacks.strategy is {strategy or 'not set'}: rollbacks "
                       "run anyway here, also after an interrupted run")
    missing = [k for k in REQUIRED_TAGS if not exp.tag(k)]
    if missing:
        notices.append("no " + ", ".join(f"{k}:" for k in missing) + " tag: listed without "
                       "it (add tags like fault:process-kill to select it by tag)")
    if not exp.data.get("rollbacks"):
        notices.append("no rollbacks: every fault injected through inject_fault is reverted "
                       "by the runner when the run ends")
    fix = unknown_runbook(exp)
    if fix is not None:
        notices.append(f"tag runbook:{exp.tag('runbook')} names no runbook in runbooks/ "
                       f"(listed as it is). {fix}")
    return notices


def _check_chaoslib(exp: Experiment) -> None:
    """Chaos Toolkit's own validation; its crashes on odd shapes are refusals too."""
    logging.getLogger("chaostoolkit").disabled = True     # its own logging is noise here
    try:
        ensure_experiment_is_valid(exp.data)
    except ChaosException as err:
        raise InvalidExperiment(_cut(str(err)), source=str(exp.path),
                                fix="See https://chaostoolkit.org/reference/api/experiment/"
                                ) from None
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise InvalidExperiment(f"not a Chaos Toolkit experiment ({type(err).__name__}: "
                                f"{_cut(str(err))})", source=str(exp.path),
                                fix="See https://chaostoolkit.org/reference/api/experiment/"
                                ) from None
    finally:
        logging.getLogger("chaostoolkit").disabled = False


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
    _check_runbook_tag(exp)
    if not exp.data.get("steady-state-hypothesis", {}).get("probes"):
        raise InvalidExperiment("a steady-state hypothesis made of SLO probes is required",
                                source=src, field="steady-state-hypothesis",
                                fix="Add probes from controlplane.chaos.probes")
    for fault in planned_faults(exp):
        _check_fault(src, fault["index"], fault)
    if not exp.data.get("rollbacks"):
        raise InvalidExperiment("rollbacks are required (revert_run_faults)", source=src,
                                field="rollbacks", fix="Add the revert_run_faults action")


def unknown_runbook(exp: Experiment) -> str | None:
    """How to fix the experiment's runbook:<name> tag when it names no runbook in runbooks/
    (`none` says that no runbook answers the fault); None when the tag is fine or absent."""
    name = exp.tag("runbook")
    known = runbook_names()
    if name is None or name == NO_RUNBOOK or name in known:
        return None
    return (fix_for(name, known, "runbooks") + f", or \"runbook:{NO_RUNBOOK}\" when no "
            "runbook answers this fault")


def _check_runbook_tag(exp: Experiment) -> None:
    fix = unknown_runbook(exp)
    if fix is not None:
        raise InvalidExperiment("the runbook tag names no runbook in runbooks/",
                                source=str(exp.path), field="tags",
                                value=f"runbook:{exp.tag('runbook')}", fix=fix)


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
    for index, activity in enumerate(exp.data.get("method", [])):
        provider = activity.get("provider", {})
        if provider.get("func") == "inject_fault":
            args = provider.get("arguments", {})
            out.append({"kind": args.get("kind"), "target": args.get("target"),
                        "parameters": args.get("parameters") or {},
                        "pick": args.get("pick", "one"), "index": index})  # in the method
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


def _check_selector(wanted: dict[str, str], catalogue: list[Experiment], spec: str) -> None:
    """Every key and value of a selector must occur in the catalogue's tags: a typo such as
    fault=network-latancy is refused, not answered with 0 experiments."""
    known: dict[str, set[str]] = {}
    for exp in catalogue:
        for tag in exp.tags:
            key, _, value = tag.partition(":")
            known.setdefault(key, set()).add(value)
    for key, value in wanted.items():
        if key not in known:
            raise InvalidInput("unknown tag key", field="selector", value=spec,
                               fix=f"Known keys: {', '.join(sorted(known)) or '(none)'}")
        if value not in known[key]:
            raise InvalidInput(f"no experiment has the tag {key}:{value}", field="selector",
                               value=spec, fix=f"Known values of {key}: "
                               f"{', '.join(sorted(known[key]))}")


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
        catalogue = [Experiment(p, _read(p)) for p in sorted(root.rglob("*.json"))
                     if not p.name.startswith("_")]
        _check_selector(wanted, catalogue, spec)
        return [exp.path for exp in catalogue if exp.matches(wanted)]
    raise InvalidInput("no such experiment file, directory, selector or suite", field="target",
                       value=spec, fix="Pass a file, a directory, key=value tags, or one of "
                       f"the suites: {', '.join(sorted(suites or {})) or '(none)'}")

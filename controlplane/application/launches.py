"""Long work started through the service: an experiment run, a drill, a load run, a runbook
run. The service does not execute them itself: each is the same `controlplane` command a person
would type, started as a process of its own in the workspace (so a restart of the service
stops none of them), with its output in `<state>/launches/<id>.log` and its record, the
command, who asked and its exit code, in `<id>.json`. The work records itself in the store as
it does from the CLI (chaos runs, drills, load runs, runbook runs), where the other routes read
it.

What may be launched is checked here, before any process starts: names against the project's
catalogue, runbooks and load profiles, and experiment paths inside the project's experiments
folder; at most MAX_RUNNING launches run at once."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from controlplane.errors import InvalidInput, Refused

__all__ = ["APPROVAL_WAIT_S", "DRILLS", "MAX_RUNNING", "Launch", "Launcher", "chaos_argv",
           "chaos_profile", "drill_argv",
           "load_argv", "runbook_argv"]

MAX_RUNNING = 4
APPROVAL_WAIT_S = 4 * 3600       # a launched run waits this long for its approvals
_PROFILE = re.compile(r"[a-z][a-z0-9-]{0,30}")
DRILLS = ("ledger-failover", "ledger-hang", "autoscale")
_SELECTOR = re.compile(r"[a-z_]+=[A-Za-z0-9_.:-]+(,[a-z_]+=[A-Za-z0-9_.:-]+)*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,62}")


@dataclass
class Launch:
    id: str
    kind: str
    argv: list[str]
    actor: str
    pid: int
    started_at: float
    log: str
    exit_code: int | None = None
    approval: int | None = None      # the chaos approval request the run waits on, if any

    @property
    def running(self) -> bool:
        return self.exit_code is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "running": self.running}


def chaos_profile(name: object) -> Path:
    """The guardrails file of a profile: `lab` (or None) is policies/chaos-guardrails.yaml,
    any other NAME policies/chaos-guardrails.NAME.yaml."""
    from controlplane.chaos.guardrails import DEFAULT_POLICY

    if name is None or name == "lab":
        return DEFAULT_POLICY
    path = DEFAULT_POLICY.with_name(f"chaos-guardrails.{name}.yaml")
    if not isinstance(name, str) or not _PROFILE.fullmatch(name) or not path.is_file():
        known = sorted(p.name.split(".")[1] for p in
                       DEFAULT_POLICY.parent.glob("chaos-guardrails.*.yaml"))
        raise InvalidInput("is not a guardrails profile", field="policy", value=name,
                           fix=f"Use lab or one of {', '.join(known)}")
    return path


def chaos_argv(experiments: object, policy: Path | None = None,
               request_id: int | None = None) -> list[str]:
    """`chaos run` of a tag selector (`fault=process-kill`) or a file or folder inside the
    project's experiments folder; under `policy` (a guardrails file), and as the approval
    request `request_id`, waited on for up to APPROVAL_WAIT_S."""
    target = _chaos_target(experiments)
    extra = ["--policy", str(policy)] if policy else []
    if request_id is not None:
        extra += ["--request", str(request_id), "--wait-approval", str(APPROVAL_WAIT_S)]
    return ["chaos", "run", target, *extra, "--json"]


def _chaos_target(experiments: object) -> str:
    from controlplane.chaos.experiments import EXPERIMENTS_DIR, select

    if not isinstance(experiments, str) or not 0 < len(experiments) <= 200:
        raise InvalidInput("must be a tag selector or a path under experiments/",
                           field="experiments", value=experiments)
    if _SELECTOR.fullmatch(experiments):
        try:
            matched = select(experiments)
        except InvalidInput as err:             # the selector's own complaint, under our field
            raise InvalidInput(err.message, field="experiments", value=experiments,
                               fix=err.fix) from None
        if not matched:
            raise InvalidInput("no experiment of the catalogue matches", field="experiments",
                               value=experiments, fix="See `controlplane chaos list`")
        return experiments
    root = EXPERIMENTS_DIR.resolve()
    path = (root / experiments).resolve()
    if not path.is_relative_to(root) or not path.exists():
        raise InvalidInput("is not a file or folder inside the project's experiments folder",
                           field="experiments", value=experiments,
                           fix="Give a path relative to experiments/, or a selector like "
                               "fault=process-kill")
    return str(path)


def drill_argv(kind: object) -> list[str]:
    if kind not in DRILLS:
        raise InvalidInput("is not a drill", field="kind", value=kind,
                           fix=f"Use one of {', '.join(DRILLS)}")
    return ["drill", str(kind), "--json"]


def load_argv(profile: object) -> list[str]:
    from controlplane.load.profiles import load_profiles

    known = load_profiles()
    if profile not in known:
        raise InvalidInput("is not a load profile", field="profile", value=profile,
                           fix=f"Use one of {', '.join(sorted(known))}")
    return ["load", "run", str(profile)]


def runbook_argv(name: str, labels: object, dry_run: bool) -> list[str]:
    from controlplane.runbooks.model import RUNBOOKS_DIR, load_runbooks

    known = load_runbooks(RUNBOOKS_DIR)
    if name not in known:
        raise InvalidInput("is not a runbook", field="name", value=name,
                           fix=f"Use one of {', '.join(sorted(known))}")
    if not isinstance(labels, dict) or len(labels) > 20:
        raise InvalidInput("must be an object of at most 20 labels", field="labels",
                           value=labels)
    argv = ["runbook", "run", name]
    for key, value in labels.items():
        if not _LABEL.fullmatch(str(key)) or not isinstance(value, str) or len(value) > 200:
            raise InvalidInput("must be a label name and a string value of at most 200 "
                               "characters", field=f"labels.{key}", value=value)
        argv += ["--label", f"{key}={value}"]
    return argv + (["--dry-run"] if dry_run else [])


class Launcher:
    """The launches of one workspace: started here, or found in its launches folder."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.folder = state_dir / "launches"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def check_room(self) -> None:
        """Refused when MAX_RUNNING launches are running."""
        if sum(1 for launch in self.launches() if launch.running) >= MAX_RUNNING:
            raise Refused(f"{MAX_RUNNING} launches are running; wait for one to end "
                          "(GET /api/v1/launches)")

    def start(self, kind: str, argv: list[str], actor: str,
              approval: int | None = None) -> Launch:
        self.check_room()
        self.folder.mkdir(parents=True, exist_ok=True)
        launch_id = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        log = self.folder / f"{launch_id}.log"
        command = [sys.executable, "-m", "controlplane", *argv, "--state-dir",
                   str(self.state_dir)]
        with log.open("wb") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    env={**os.environ, "CONTROLPLANE_ACTOR": actor})
        self._procs[launch_id] = proc
        launch = Launch(launch_id, kind, argv, actor, proc.pid, time.time(), str(log),
                        approval=approval)
        self._write(launch)
        return launch

    def get(self, launch_id: str) -> Launch | None:
        path = self.folder / f"{launch_id}.json"
        if not re.fullmatch(r"[0-9T]{15}-[0-9a-f]{6}", launch_id) or not path.exists():
            return None
        launch = Launch(**json.loads(path.read_text()))
        proc = self._procs.get(launch_id)
        if launch.running and proc is not None and proc.poll() is not None:
            launch.exit_code = proc.returncode
            self._write(launch)
            del self._procs[launch_id]
        elif launch.running and proc is None and not _alive(launch.pid):
            launch.exit_code = -1                  # started by an earlier service: unknown
            self._write(launch)
        return launch

    def launches(self) -> list[Launch]:
        if not self.folder.is_dir():
            return []
        found = [self.get(p.stem) for p in sorted(self.folder.glob("*.json"))]
        return [launch for launch in found if launch is not None]

    def _write(self, launch: Launch) -> None:
        path = self.folder / f"{launch.id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(launch)))
        os.replace(tmp, path)


def _alive(pid: int) -> bool:
    from controlplane.host.procs import alive

    return alive(pid)

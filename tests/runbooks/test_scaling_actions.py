"""The scaling actions and the matcher autoscaling runbooks (no cluster): limits refused
before the platform is touched, the platform's scale report kept in the step's output, the
triggers, and a dry run that plans without acting."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from controlplane.runbooks import library  # noqa: F401 (registers the built-in actions)
from controlplane.runbooks.actions import ACTIONS, ActionContext, ActionFailed
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import RUNBOOKS_DIR, load_runbook
from controlplane.store import Store


@dataclass
class Inst:
    id: str
    state: str = "running"
    running: bool = True
    handle: str = "pid 1"


@dataclass
class Comp:
    name: str


@dataclass
class FakePlatform:
    """Just what the scaling actions use; records every call."""

    matchers: int = 1
    calls: list[str] = field(default_factory=list)

    def instances(self, component: str) -> list[Inst]:
        return [Inst(f"{component}-{i}") for i in range(self.matchers)] \
            if component == "matcher" else []

    def components(self) -> list[Comp]:
        return [Comp("matcher"), Comp("gateway")]

    def scale(self, component: str) -> Inst:
        self.calls.append(f"scale {component}")
        self.matchers += 1
        return Inst(f"{component}-{self.matchers - 1}")

    def scale_in(self, component: str) -> Inst:
        self.calls.append(f"scale_in {component}")
        self.matchers -= 1
        return Inst(f"{component}-{self.matchers}", state="stopped", running=False, handle="")

    def scale_reports(self) -> list[dict]:
        return [{"instance": "matcher-1", "direction": "out", "ready_at": 2.0}]


def _run(name: str, platform: FakePlatform, **params) -> dict:
    registered = ACTIONS[name]
    return registered.run(ActionContext(platform), registered.params(**params))  # type: ignore[arg-type]


def test_scale_out_adds_one_and_keeps_the_platforms_report() -> None:
    platform = FakePlatform(matchers=1)
    out = _run("platform.scale_out", platform, component="matcher", max_instances=4)
    assert platform.calls == ["scale matcher"]
    assert (out["instance"], out["instances_before"], out["instances_after"]) == (
        "matcher-1", 1, 2)
    assert out["report"]["ready_at"] == 2.0


def test_scale_out_stops_at_max_instances_without_touching_the_platform() -> None:
    platform = FakePlatform(matchers=4)
    with pytest.raises(ActionFailed, match="already runs 4 instances"):
        _run("platform.scale_out", platform, component="matcher", max_instances=4)
    assert platform.calls == []


def test_scale_in_never_goes_below_min_instances() -> None:
    platform = FakePlatform(matchers=2)
    out = _run("platform.scale_in", platform, component="matcher", min_instances=1)
    assert platform.calls == ["scale_in matcher"] and out["instances_after"] == 1
    with pytest.raises(ActionFailed, match="not above min_instances 1"):
        _run("platform.scale_in", platform, component="matcher", min_instances=1)
    assert platform.calls == ["scale_in matcher"]


def test_an_unknown_component_names_the_ones_there_are() -> None:
    with pytest.raises(ActionFailed, match="'matchr'; the cluster has: gateway, matcher"):
        _run("platform.scale_out", FakePlatform(), component="matchr")


@pytest.mark.parametrize(("name", "bad"), [
    ("platform.scale_out", {"component": "matcher", "max_instances": 0}),
    ("platform.scale_in", {"component": "matcher", "min_instances": 0}),
    ("platform.scale_in", {"component": "matcher", "min": 1}),
])
def test_bad_scaling_parameters_are_refused(name: str, bad: dict) -> None:
    with pytest.raises(ValueError):
        ACTIONS[name].params(**bad)


def test_the_matcher_runbooks_start_on_their_capacity_alerts() -> None:
    out = load_runbook(RUNBOOKS_DIR / "matcher-autoscaling.yaml")
    scale_in = load_runbook(RUNBOOKS_DIR / "matcher-scale-in.yaml")
    assert out.matches({"alertname": "MatcherSaturated", "service": "matcher"})
    assert not out.matches({"alertname": "MatcherSaturated", "service": "gateway"})
    assert scale_in.matches({"alertname": "MatcherUnderutilised", "service": "matcher"})
    assert out.target == scale_in.target == "matcher"          # never both at once
    assert out.steps[0].verify is not None                     # 99% within the 100 ms bucket
    assert 'le="0.1"' in (out.steps[0].verify.promql or "") and ">= 0.99" in (
        out.steps[0].verify.promql or "")
    preconditions = " ".join(c.params["expr"] for c in scale_in.preconditions)
    assert "process_start_time_seconds" in preconditions and "MatcherSaturated" in preconditions


def test_a_dry_run_of_the_scale_out_plans_and_does_not_act(tmp_path: Path) -> None:
    platform = FakePlatform(matchers=1)
    rb = load_runbook(RUNBOOKS_DIR / "matcher-autoscaling.yaml")
    with Store(tmp_path / "controlplane.db") as store:
        engine = RunbookEngine(platform, store, poll_s=0.01)  # type: ignore[arg-type]
        run = engine.start_manual(rb, "tester", dry_run=True)
        assert run is not None
        done = engine.execute(run, rb)
        steps = store.runbook_steps(run.id)
    assert done.state == "succeeded" and platform.calls == []
    assert [s.state for s in steps if s.kind == "step"] == ["skipped", "skipped"]
    assert 'le="0.1"' in steps[0].output["verify"]

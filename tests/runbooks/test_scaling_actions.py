"""The scaling actions and the matcher autoscaling runbooks on the fake platform (no processes):
limits refused before the platform is touched, the platform's scale report kept in the step's
output, the triggers, a dry run that plans without acting, and rollbacks that undo exactly
what their step did."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.platform import Platform
from controlplane.runbooks import library  # noqa: F401 (registers the built-in actions)
from controlplane.runbooks.actions import ACTIONS, ActionContext, ActionFailed
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import RUNBOOKS_DIR, load_runbook
from controlplane.store import Store
from controlplane.store.runbooks import RunbookRun, RunbookStep
from controlplane.topology import parse_topology
from tests.support.alerted_runs import run_for_alert
from tests.support.fake_cluster import fake_cluster
from tests.support.fake_prometheus import fake_prometheus


def _platform(tmp_path: Path, matchers: int = 1) -> Platform:
    """A fake cluster of `matchers` matchers and a gateway (the fake platform's semantics:
    scale adds the next instance and reports it, scale_in forgets the highest)."""
    topology = parse_topology({
        "name": "scaling", "platform": "fake", "mesh": False,
        "services": {"matcher": {"kind": "matcher", "instances": matchers},
                     "gateway": {"kind": "gateway", "depends_on": ["matcher"]}}})
    return fake_cluster(tmp_path / "cluster", topology)


def _matchers(platform: Platform) -> list[str]:
    return [i.id for i in platform.instances("matcher")]


def _lives(platform: Platform) -> list[tuple[str, str]]:
    """Every instance and its life: any stop, start, kill or scale changes it."""
    return [(i.id, i.incarnation) for i in platform.info().instances]


def _reports(platform: Platform) -> list[tuple[str, str]]:
    return [(r["instance"], r["direction"])
            for r in platform.scale_reports()]  # type: ignore[attr-defined]


def _run(name: str, platform: Platform, **params) -> dict:
    registered = ACTIONS[name]
    return registered.run(ActionContext(platform), registered.params(**params))


def test_scale_out_adds_one_and_keeps_the_platforms_report(tmp_path: Path) -> None:
    platform = _platform(tmp_path, matchers=1)
    out = _run("platform.scale_out", platform, component="matcher", max_instances=4)
    assert _matchers(platform) == ["matcher-0", "matcher-1"]
    assert (out["instance"], out["instances_before"], out["instances_after"]) == (
        "matcher-1", 1, 2)
    assert out["report"] == platform.scale_reports()[-1]  # type: ignore[attr-defined]
    assert (out["report"]["instance"], out["report"]["direction"]) == ("matcher-1", "out")


def test_scale_out_stops_at_max_instances_without_touching_the_platform(
        tmp_path: Path) -> None:
    platform = _platform(tmp_path, matchers=4)
    before = _lives(platform)
    with pytest.raises(ActionFailed, match="already runs 4 instances"):
        _run("platform.scale_out", platform, component="matcher", max_instances=4)
    assert _lives(platform) == before and _reports(platform) == []


def test_scale_in_never_goes_below_the_topologys_instance_count(tmp_path: Path) -> None:
    platform = _platform(tmp_path, matchers=2)
    before = _lives(platform)
    with pytest.raises(ActionFailed, match="matcher runs 2 instances, not above the "
                                           "topology's 2 .*below_topology: true"):
        _run("platform.scale_in", platform, component="matcher", min_instances=1)
    assert _lives(platform) == before and _reports(platform) == []
    platform.scale("matcher")
    out = _run("platform.scale_in", platform, component="matcher")
    assert _matchers(platform) == ["matcher-0", "matcher-1"] and out["floor"] == 2
    assert (out["instance"], out["running"], out["instances_after"]) == ("matcher-2", False, 2)


def test_a_runbook_that_says_so_goes_below_the_topology_but_not_min_instances(
        tmp_path: Path) -> None:
    platform = _platform(tmp_path, matchers=2)
    out = _run("platform.scale_in", platform, component="matcher", min_instances=1,
               below_topology=True)
    assert _matchers(platform) == ["matcher-0"] and out["instances_after"] == 1
    assert (out["instance"], out["running"], out["floor"]) == ("matcher-1", False, 1)
    before = _lives(platform)
    with pytest.raises(ActionFailed, match="not above min_instances 1"):
        _run("platform.scale_in", platform, component="matcher", min_instances=1,
             below_topology=True)
    assert _lives(platform) == before and _reports(platform) == [("matcher-1", "in")]


def test_the_shipped_scale_in_stops_at_the_topologys_matchers(tmp_path: Path) -> None:
    """The reference topology runs 2 matchers: a scale-in there, confirmed or not, removes
    none (it went down to 1 before)."""
    platform = _platform(tmp_path, matchers=2)
    before = _lives(platform)
    done, steps = _alerted_run(platform, "matcher-scale-in")
    assert done.state == "rolled_back" and "not above the topology's 2" in done.error
    assert _lives(platform) == before and _reports(platform) == []


def test_an_unknown_component_names_the_ones_there_are(tmp_path: Path) -> None:
    with pytest.raises(ActionFailed, match="'matchr'; the cluster has: gateway, matcher"):
        _run("platform.scale_out", _platform(tmp_path), component="matchr")


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
    platform = _platform(tmp_path, matchers=1)
    before = _lives(platform)
    rb = load_runbook(RUNBOOKS_DIR / "matcher-autoscaling.yaml")
    with Store(tmp_path / "controlplane.db") as store:
        engine = RunbookEngine(platform, store, poll_s=0.01)
        run = engine.start_manual(rb, "tester", dry_run=True)
        assert run is not None
        done = engine.execute(run, rb)
        steps = store.runbook_steps(run.id)
    assert done.state == "succeeded"
    assert _lives(platform) == before and _reports(platform) == []
    assert [s.state for s in steps if s.kind == "step"] == ["skipped", "skipped"]
    assert 'le="0.1"' in steps[0].output["verify"]


# rollbacks undo what their step did -------------------------------------------------------
ALERTS = {"matcher-autoscaling": "MatcherSaturated", "matcher-scale-in": "MatcherUnderutilised"}


def _alerted_run(platform: Platform, name: str) -> tuple[RunbookRun, list[RunbookStep]]:
    """The shipped runbook `name` on its alert, its confirmation and preconditions holding and
    its verification never (Prometheus answers nothing else)."""
    rb = load_runbook(RUNBOOKS_DIR / f"{name}.yaml")
    with fake_prometheus() as prom:
        for expr in [c.promql for c in rb.confirm] + [p.params["expr"] for p in rb.preconditions]:
            prom.values[expr or ""] = 1.0
        return run_for_alert(platform, prom.url, rb, {"alertname": ALERTS[name],
                                                      "service": "matcher"})


def _rollbacks(steps: list[RunbookStep]) -> list[tuple[str, str]]:
    return [(s.action, s.state) for s in steps if s.kind == "rollback"]


def test_a_scale_out_whose_check_failed_removes_the_matcher_it_added(tmp_path: Path) -> None:
    platform = _platform(tmp_path, matchers=2)
    done, steps = _alerted_run(platform, "matcher-autoscaling")
    assert done.state == "rolled_back" and "scale-out failed" in done.error
    assert _matchers(platform) == ["matcher-0", "matcher-1"]
    assert _reports(platform) == [("matcher-2", "out"), ("matcher-2", "in")]
    assert _rollbacks(steps) == [("platform.undo_scale", "succeeded"), ("notify", "succeeded")]
    undo = [s for s in steps if s.kind == "rollback"][0]
    assert undo.output["undone"] == [{"removed": "matcher-2"}]
    page = platform.workspace.notifications_log.read_text().splitlines()[-1]
    assert '"severity": "page"' in page and "was removed" in page


def test_a_scale_out_that_added_nothing_removes_nothing(tmp_path: Path) -> None:
    platform = _platform(tmp_path, matchers=4)                  # at its max_instances
    before = _lives(platform)
    done, steps = _alerted_run(platform, "matcher-autoscaling")
    assert done.state == "rolled_back" and "already runs 4 instances" in done.error
    assert _lives(platform) == before and _reports(platform) == []
    assert [s for s in steps if s.kind == "rollback"][0].output["undone"] == []


def test_a_scale_in_whose_check_failed_starts_a_matcher_in_place_of_the_one_it_removed(
        tmp_path: Path) -> None:
    platform = _platform(tmp_path, matchers=1)
    platform.scale("matcher")                                   # one above the topology's
    done, steps = _alerted_run(platform, "matcher-scale-in")
    assert done.state == "rolled_back" and "scale-in failed" in done.error
    assert _reports(platform) == [("matcher-1", "out"), ("matcher-1", "in"),
                                  ("matcher-1", "out")]
    assert [s for s in steps if s.kind == "rollback"][0].output["undone"] == [
        {"started": "matcher-1", "instead_of": "matcher-1"}]


def test_an_undo_never_removes_an_instance_its_step_did_not_add(tmp_path: Path) -> None:
    """Another matcher came after the step's: the platform would remove that one instead."""
    platform = _platform(tmp_path, matchers=1)
    added = _run("platform.scale_out", platform, component="matcher", max_instances=4)
    platform.scale("matcher")                                   # matcher-2, someone else's
    registered = ACTIONS["platform.undo_scale"]
    with pytest.raises(ActionFailed, match="matcher-1, which this step added, is no longer "
                                           "the highest-numbered matcher"):
        registered.run(ActionContext(platform, undo=[added]), registered.params())
    assert _matchers(platform) == ["matcher-0", "matcher-1", "matcher-2"]

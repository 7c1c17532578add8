"""Experiment files: the catalogue is complete, current and valid; bad files name the file and
the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chaostoolkit.cli import cli as chaos_cli
from click.testing import CliRunner

from controlplane.chaos.catalogue import build_experiments, generate_catalogue, load_matrix
from controlplane.chaos.experiments import (
    EXPERIMENTS_DIR,
    InvalidExperiment,
    load_experiment,
    planned_faults,
    select,
)
from controlplane.chaos.faults import FAULTS
from controlplane.errors import InvalidInput
from controlplane.topology import load_topology

FILES = select(str(EXPERIMENTS_DIR))


def test_the_catalogue_has_at_least_200_experiments() -> None:
    assert len(FILES) >= 200


def test_the_committed_catalogue_is_what_the_matrix_generates() -> None:
    assert generate_catalogue(EXPERIMENTS_DIR, write=False) == []


def test_every_fault_kind_is_in_the_catalogue() -> None:
    used = {f["kind"] for p in FILES for f in planned_faults(load_experiment(p))}
    assert used == set(FAULTS)


def test_no_two_experiments_differ_only_by_name() -> None:
    seen: dict[str, Path] = {}
    for path in FILES:
        data = json.loads(path.read_text())
        key = json.dumps({k: v for k, v in data.items() if k not in ("title", "description")},
                         sort_keys=True)
        assert key not in seen, f"{path} duplicates {seen[key]}"
        seen[key] = path


def test_chaos_validate_passes_on_every_file() -> None:
    """The `chaos validate` command itself (Chaos Toolkit's CLI, in-process), file by file."""
    runner = CliRunner()
    for path in FILES:
        result = runner.invoke(chaos_cli, ["--no-log-file", "validate", str(path)])
        assert result.exit_code == 0, f"{path}: {result.output}"


def test_our_rules_pass_on_every_file() -> None:
    for path in FILES:
        exp = load_experiment(path)
        assert exp.data["runtime"]["rollbacks"]["strategy"] == "always"
        assert all(exp.tag(k) for k in ("fault", "component", "severity", "runbook"))


def _broken(tmp_path: Path, change) -> Path:
    pause = next(p for p in FILES if p.name.startswith("process-pause"))
    data = json.loads(pause.read_text())
    change(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return path


BROKEN = [
    ("rollbacks not always", lambda d: d["runtime"]["rollbacks"].update(strategy="default"),
     "runtime.rollbacks.strategy"),
    ("unknown fault kind", lambda d: d["method"][0]["provider"]["arguments"].update(
        kind="process-explode"), "method[0].provider.arguments.kind"),
    ("bad parameter", lambda d: d["method"][0]["provider"]["arguments"].update(
        parameters={"duration_s": -1}), "arguments.parameters.duration_s"),
    ("missing tag", lambda d: d.update(tags=["fault:process-kill"]), "tags"),
    ("no hypothesis", lambda d: d.pop("steady-state-hypothesis"), "steady-state-hypothesis"),
    ("no title", lambda d: d.pop("title"), "experiment requires a title"),
]


@pytest.mark.parametrize(("case", "change", "field"), BROKEN, ids=[b[0] for b in BROKEN])
def test_invalid_experiments_name_the_file_and_field(tmp_path: Path, case, change,
                                                     field: str) -> None:
    path = _broken(tmp_path, change)
    with pytest.raises(InvalidExperiment) as err:
        load_experiment(path)
    assert str(path) in str(err.value) and field in str(err.value)


def test_unknown_selector_lists_what_is_accepted() -> None:
    with pytest.raises(Exception, match="no such experiment file, directory, selector or suite"):
        select("nothing-like-this")


def test_a_selector_with_an_unknown_tag_value_names_the_known_ones() -> None:
    assert select("fault=network-latency")
    with pytest.raises(InvalidInput, match="no experiment has the tag fault:network-latancy"
                       ".*Known values of fault: .*network-latency"):
        select("fault=network-latancy")
    with pytest.raises(InvalidInput, match="unknown tag key.*Known keys: .*fault"):
        select("faults=process-kill")


def test_chaos_list_refuses_an_unknown_tag_value_with_exit_2() -> None:
    from controlplane.cli import cli

    result = CliRunner().invoke(cli, ["chaos", "list", "fault=network-latancy"])
    assert isinstance(result.exception, InvalidInput) and result.exception.exit_code == 2
    assert "network-latency" in str(result.exception)


def test_matrix_builds_one_file_per_cell() -> None:
    built = build_experiments(load_matrix(EXPERIMENTS_DIR / "_catalogue.yaml"))
    assert len(built) == len(FILES)


# the names an experiment uses, against the topology (issue 14 item 11) ---------------------
LATENCY = EXPERIMENTS_DIR / "gateway" / "network-latency-gateway-matcher-0-20s-100ms.json"


def _variant(tmp_path: Path, change, source: Path = LATENCY) -> Path:
    data = json.loads(source.read_text())
    change(data)
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(data))
    return path


def _args(data: dict) -> dict:
    return data["method"][0]["provider"]["arguments"]


def test_every_shipped_experiment_names_only_what_the_shipped_topology_has() -> None:
    topology = load_topology()
    for path in FILES:
        load_experiment(path, topology)


MISNAMED = [
    ("target typo", lambda d: _args(d).update(target="gatewya"),
     "method[0].provider.arguments.target", "'gatewya'", "Did you mean 'gateway'?"),
    ("unknown instance", lambda d: _args(d).update(target="matcher-7"),
     "method[0].provider.arguments.target", "'matcher-7'", "Valid targets: "),
    ("unknown role", lambda d: _args(d).update(target="ledger:leader"),
     "method[0].provider.arguments.target", "'ledger:leader'", "ledger:primary"),
    ("peer typo", lambda d: _args(d)["parameters"].update(peer="matchr-0"),
     "arguments.parameters.peer", "'matchr-0'", "Did you mean 'matcher-0'?"),
    ("no mesh link to the peer", lambda d: _args(d)["parameters"].update(peer="etcd"),
     "arguments.parameters.peer", "no mesh link between gateway-0 (gateway) and etcd",
     "Valid peers of gateway: "),
    ("probe service typo", lambda d: d["steady-state-hypothesis"]["probes"][0]["provider"][
        "arguments"].update(service="gatway"),
     "steady-state-hypothesis.probes[0].provider.arguments.service", "'gatway'",
     "Did you mean 'gateway'?"),
    ("fault kind that does not apply", lambda d: _args(d).update(
        kind="app-errors", target="etcd", parameters={"duration_s": 5}),
     "method[0].provider.arguments.target", "app-errors does not apply to a etcd", "gateway"),
]


@pytest.mark.parametrize(("case", "change", "field", "says", "fix"), MISNAMED,
                         ids=[m[0] for m in MISNAMED])
def test_a_name_the_topology_lacks_is_refused_with_the_closest_and_the_valid_ones(
        tmp_path: Path, case, change, field: str, says: str, fix: str) -> None:
    path = _variant(tmp_path, change)
    load_experiment(path)                      # without a topology, nothing checks the names
    with pytest.raises(InvalidExperiment) as err:
        load_experiment(path, load_topology())
    text = str(err.value)
    assert str(path) in text and field in text and says in text and fix in text, text
    assert err.value.exit_code == 2


def test_names_are_those_of_the_given_topology(tmp_path: Path) -> None:
    """With three matchers, matcher-2 is a target; with the mesh off, no link fault is."""
    path = _variant(tmp_path, lambda d: _args(d)["parameters"].update(peer="matcher-2"))
    shipped = load_topology()
    with pytest.raises(InvalidExperiment, match="'matcher-2'"):
        load_experiment(path, shipped)
    services = dict(shipped.services)
    services["matcher"] = services["matcher"].model_copy(update={"instances": 3})
    load_experiment(path, shipped.model_copy(update={"services": services}))
    no_mesh = shipped.model_copy(update={"mesh": False})
    with pytest.raises(InvalidExperiment, match="acts on mesh links.*has no mesh"):
        load_experiment(LATENCY, no_mesh)


def test_a_substituted_target_is_left_to_the_run(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda d: _args(d).update(target="${target}"))
    load_experiment(path, load_topology())


# misspelled keys (issue 14 item 13) --------------------------------------------------------
def _probe(data: dict, i: int = 1) -> dict:
    return data["steady-state-hypothesis"]["probes"][i]


TYPOS = [
    ("hypothesis key", lambda d: d.update({"steady-state-hypotesis": d.pop(
        "steady-state-hypothesis")}), "steady-state-hypotesis: unknown key",
     "Did you mean 'steady-state-hypothesis'?"),
    ("probe tolerance", lambda d: _probe(d).update(tolerence=_probe(d).pop("tolerance")),
     "steady-state-hypothesis.probes[1].tolerence: unknown key in the probe "
     "'order-p99-ms-15s'", "Did you mean 'tolerance'?"),
    ("action pauses", lambda d: d["method"][0].update(pause=d["method"][0].pop("pauses")),
     "method[0].pause: unknown key in the action 'inject-network-latency'",
     "Did you mean 'pauses'?"),
    ("provider module", lambda d: d["rollbacks"][0]["provider"].update(
        modul=d["rollbacks"][0]["provider"].pop("module")),
     "rollbacks[0].provider.modul: unknown key in the provider of the action "
     "'revert-faults'", "Did you mean 'module'?"),
    ("hypothesis probes", lambda d: d["steady-state-hypothesis"].update(
        probe=d["steady-state-hypothesis"].pop("probes")),
     "steady-state-hypothesis.probe: unknown key", "Did you mean 'probes'?"),
    ("a key nothing reads", lambda d: d.update(owner="team-a"), "owner: unknown key",
     "Valid top-level keys: "),
]


@pytest.mark.parametrize(("case", "change", "says", "fix"), TYPOS, ids=[t[0] for t in TYPOS])
def test_a_misspelled_key_is_named_with_a_did_you_mean(tmp_path: Path, case, change,
                                                       says: str, fix: str) -> None:
    path = _variant(tmp_path, change)
    with pytest.raises(InvalidExperiment) as err:
        load_experiment(path)
    text = str(err.value)
    assert str(path) in text and says in text and fix in text, text


def test_experiments_others_host_may_carry_keys_of_their_own_but_not_near_misses(
        tmp_path: Path) -> None:
    from controlplane.chaos.experiments import read_experiment

    read_experiment(_variant(tmp_path, lambda d: d.update(owner="team-a")))
    with pytest.raises(InvalidExperiment, match="Did you mean 'tolerance'"):
        read_experiment(_variant(tmp_path, lambda d: _probe(d).update(
            tolerence=_probe(d).pop("tolerance"))))


def test_a_bad_fault_is_named_by_its_place_in_the_whole_method(tmp_path: Path) -> None:
    def change(d):
        fault = d["method"][0]
        fault["provider"]["arguments"]["kind"] = "process-explode"
        quiet = {"type": "action", "name": "wait-first",
                 "provider": {"type": "process", "path": "true"}}
        d["method"] = [quiet, fault]
    path = _broken(tmp_path, change)
    with pytest.raises(InvalidExperiment) as err:
        load_experiment(path)
    assert "method[1].provider.arguments.kind" in str(err.value)

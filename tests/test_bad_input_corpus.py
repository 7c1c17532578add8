"""The bad-input corpus: every user-file loader (topology, experiment, runbook, SLO policy,
guardrails, load gates, load profiles) against mutations of its real shipped file. Every case
must end in the project's clear error naming the file (exit 2 through the CLI), quickly and
without a large allocation: no traceback, no hang, no absurd value accepted."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlplane.chaos.experiments import EXPERIMENTS_DIR, load_experiment
from controlplane.chaos.guardrails import DEFAULT_POLICY, load_policy
from controlplane.errors import InvalidInput, quote
from controlplane.load.gates import DEFAULT_GATES, load_gate_policy
from controlplane.load.profiles import PROFILES_FILE, load_profiles
from controlplane.runbooks.model import RUNBOOKS_DIR, load_runbook
from controlplane.slo.model import DEFAULT_SLOS, load_slos
from controlplane.topology import DEFAULT_TOPOLOGY, load_topology

HANG_S = 120          # a loader still busy after this is hung (pytest-timeout ends the test)
MAX_TRACED_BYTES = 200 * 1024 * 1024
SENTINEL = "__MUTATED__"


@dataclass(frozen=True)
class Loader:
    real: Path
    syntax: str                                 # how the mutated file is written
    load: Callable[[Path], Any]
    keys: tuple[str, ...]                       # top-level keys to mistype, retype, drop
    numbers: Callable[[str], bool] = lambda path: True      # numeric leaves to make absurd


EXPERIMENT = EXPERIMENTS_DIR / "etcd" / "process-pause-etcd-15s.json"
EXPERIMENT_KEYS = ("title", "tags", "steady-state-hypothesis", "method", "rollbacks", "runtime")


def _experiment_numbers(path: str) -> bool:
    return ".pauses." in f".{path}." or ".parameters." in f".{path}."


LOADERS: dict[str, Loader] = {
    "topology": Loader(DEFAULT_TOPOLOGY, "yaml", load_topology, ("name", "services")),
    "experiment": Loader(EXPERIMENT, "json", load_experiment, EXPERIMENT_KEYS,
                         _experiment_numbers),
    "experiment-yaml": Loader(EXPERIMENT, "yaml", load_experiment, EXPERIMENT_KEYS,
                              _experiment_numbers),
    "runbook": Loader(RUNBOOKS_DIR / "gateway-restart.yaml", "yaml", load_runbook,
                      ("name", "description", "target", "expected_rto_s", "steps")),
    "slos": Loader(DEFAULT_SLOS, "yaml", load_slos, ("slos",)),
    "guardrails": Loader(DEFAULT_POLICY, "yaml", load_policy, ("freeze",)),
    "gates": Loader(DEFAULT_GATES, "yaml", lambda p: load_gate_policy("default", p),
                    ("policies",)),
    "profiles": Loader(PROFILES_FILE, "yaml", load_profiles, ("profiles",)),
}


def _dump(data: Any, syntax: str) -> str:
    if syntax == "json":
        return json.dumps(data, indent=2)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _real(loader: Loader) -> Any:
    text = loader.real.read_text()
    return json.loads(text) if loader.real.suffix == ".json" else yaml.safe_load(text)


def _leaves(data: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    items = data.items() if isinstance(data, dict) else enumerate(data) \
        if isinstance(data, list) else ()
    for key, value in items:
        path = f"{where}.{key}" if where else str(key)
        if isinstance(value, dict | list):
            yield from _leaves(value, path)
        else:
            yield path, value


def _replaced(data: Any, path: str, value: Any) -> Any:
    copy = json.loads(json.dumps(data))
    *parents, last = path.split(".")
    node = copy
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return copy


def _with_text(data: Any, path: str, syntax: str, text: str) -> str:
    """The document with the leaf at `path` written as raw `text`."""
    dumped = _dump(_replaced(data, path, SENTINEL), syntax)
    return dumped.replace(f'"{SENTINEL}"', text).replace(SENTINEL, text)


BOMB = 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
DEEP = "[" * 100_000 + "]" * 100_000
ABSURD = {"yaml": {"5000 digits": "9" * 5000, "inf": ".inf", "nan": ".nan",
                   "1e308": "1.0e+308"},
          "json": {"5000 digits": "9" * 5000, "inf": "Infinity", "nan": "NaN",
                   "1e308": "1e308"}}


def _whole_file_cases(text: str, syntax: str) -> Iterator[tuple[str, bytes]]:
    yield "empty file", b""
    yield "only a comment", b"# nothing here\n" if syntax == "yaml" else b"   \n"
    yield "binary junk", bytes(range(256)) * 8
    yield "control characters", b"\x00\x07\x1b[2J\x01" * 50
    yield "non-UTF-8 bytes", text.encode().replace(b"e", b"\xe9", 3)
    yield "oversized", text.encode() + b"\n#" + b"x" * (1100 * 1024) + b"\n"
    yield "a list, not a mapping", b'["wrong"]\n'
    yield "a scalar, not a mapping", b'"wrong"\n'
    yield "100,000-deep nesting", DEEP.encode()
    if syntax == "yaml":
        yield "alias bomb", BOMB.encode()
        yield "self-referencing alias", b"a: &a [*a]\n"


def _value_cases(loader: Loader, data: Any) -> Iterator[tuple[str, bytes]]:
    syntax = loader.syntax
    first_text = next(p for p, v in _leaves(data) if isinstance(v, str))
    yield (f"deep nesting at {first_text}",
           _with_text(data, first_text, syntax, "[" * 5000 + "]" * 5000).encode())
    if syntax == "yaml":
        yield (f"alias bomb at {first_text}",
               (BOMB + _with_text(data, first_text, syntax, "*l9")).encode())
    for path, value in _leaves(data):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not loader.numbers(path):
            continue
        for label, text in ABSURD[syntax].items():
            yield f"{label} at {path}", _with_text(data, path, syntax, text).encode()


def _key_cases(loader: Loader, data: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    for key in loader.keys:
        wrong = "wrong" if isinstance(data[key], list) else ["wrong"]
        yield f"wrong type at {key}", _dump({**data, key: wrong}, loader.syntax).encode()
        typo = {(k[:-1] if k == key else k): v for k, v in data.items()}
        yield f"typo {key[:-1]!r}", _dump(typo, loader.syntax).encode()
        missing = {k: v for k, v in data.items() if k != key}
        yield f"missing {key}", _dump(missing, loader.syntax).encode()


def _cases() -> Iterator[Any]:
    for name, loader in LOADERS.items():
        data = _real(loader)
        text = _dump(data, loader.syntax)
        for label, content in [*_whole_file_cases(text, loader.syntax),
                               *_value_cases(loader, data), *_key_cases(loader, data)]:
            yield pytest.param(name, content, id=f"{name}: {label}"[:120])


CASES = list(_cases())


def test_the_corpus_covers_every_loader_and_mutation() -> None:
    assert len(CASES) >= 109
    assert {c.values[0] for c in CASES} == set(LOADERS)


@pytest.mark.timeout(HANG_S)
@pytest.mark.parametrize(("name", "content"), CASES)
def test_a_bad_file_ends_in_a_clear_error(name: str, content: bytes, tmp_path: Path) -> None:
    loader = LOADERS[name]
    path = tmp_path / f"mutated.{loader.syntax}"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput) as err:
            loader.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(err.value)
    assert err.value.exit_code == 2
    assert str(path) in message
    assert peak < MAX_TRACED_BYTES, peak          # an alias bomb is refused, not expanded
    assert len(message) < 2000, message


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    for loader in LOADERS.values():
        with pytest.raises(InvalidInput, match="file not found"):
            loader.load(tmp_path / "nope.yaml")


def test_the_real_files_still_load() -> None:
    for loader in LOADERS.values():
        if loader.real.suffix.lstrip(".") in ("json", "yaml", "yml"):
            loader.load(loader.real)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controlplane", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def _cli_file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(("what", "content", "args"), [
    ("experiment", b"", ("chaos", "validate", "{file}")),
    ("experiment", DEEP.encode(), ("chaos", "validate", "{file}")),
    ("guardrails", b"# truncated\n", ("chaos", "run", str(EXPERIMENT), "--policy", "{file}")),
    ("topology", BOMB.encode(), ("cluster", "status", "--topology", "{file}",
                                 "--state-dir", "{tmp}/state")),
    ("profiles", b"profiles: {smoke: {users: 9" + b"9" * 5000 + b"}}\n",
     ("load", "profiles", "--profiles", "{file}")),
    ("slos", "window: 30d\nslos: caf\xe9\n".encode("latin-1"),
     ("policies", "render", "--check", "--slos", "{file}", "--out", "{tmp}/rules.yml")),
])
def test_the_cli_exits_2_naming_the_file(what: str, content: bytes, args: tuple[str, ...],
                                         tmp_path: Path) -> None:
    path = _cli_file(tmp_path, f"bad-{what}.yaml", content)
    argv = [a.format(file=path, tmp=tmp_path) for a in args]
    result = _cli(*argv, cwd=tmp_path)              # a hang ends in its 60 s timeout
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(path) in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


def test_a_bad_value_is_quoted_only_up_to_80_characters(tmp_path: Path) -> None:
    data = _real(LOADERS["runbook"])
    path = tmp_path / "long.yaml"
    path.write_text(_dump({**data, "name": "x" * 5000 + "!"}, "yaml"))
    with pytest.raises(InvalidInput) as err:
        load_runbook(path)
    quoted = str(err.value).split("(got ", 1)[1].split(")", 1)[0]
    assert "xxx" in quoted and len(quoted) <= 80
    assert len(quote(list(range(10**6)))) <= 80

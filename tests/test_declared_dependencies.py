"""Every third-party package the control plane and the testbed import is declared in
pyproject.toml, not only pulled in by another package (issue 14 item 22: psutil, gevent and
protobuf arrived through locust and opentelemetry)."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OURS = {"controlplane", "testbed", "tests"}
NAMESPACES = {"google"}               # shared by several distributions: look one level down


def _imported() -> dict[str, str]:
    """{module (one level down for namespaces): first file importing it}"""
    found: dict[str, str] = {}
    for root in ("controlplane", "testbed"):
        for path in sorted((REPO / root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                         and node.module else [])
                for name in names:
                    parts = name.split(".")
                    key = ".".join(parts[:2]) if parts[0] in NAMESPACES else parts[0]
                    if parts[0] not in sys.stdlib_module_names and parts[0] not in OURS:
                        found.setdefault(key, str(path.relative_to(REPO)))
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {_normal(re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0])
            for dep in project["dependencies"]}


def _distributions(module: str) -> set[str]:
    top, _, sub = module.partition(".")
    dists = md.packages_distributions().get(top, [])
    if not sub:
        return {_normal(d) for d in dists}
    return {_normal(d) for d in dists
            if any(str(f).startswith(f"{top}/{sub}/") for f in md.files(d) or [])}


def test_every_imported_package_is_declared() -> None:
    declared = _declared()
    missing = {module: where for module, where in _imported().items()
               if not _distributions(module) & declared}
    assert missing == {}, f"imported but not declared in pyproject.toml: {missing}"

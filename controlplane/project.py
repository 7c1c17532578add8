"""Where the user's files are: the project directory.

A project directory holds the folders users edit: `experiments/`, `runbooks/`, `policies/`,
`loadtests/` (and `dashboards/`, `charts/`). It is, in this order:

1. `CONTROLPLANE_PROJECT`, when set (it must be a directory);
2. the current directory, or the nearest parent, that holds one of those folders;
3. else the shipped defaults: the folders at the top of the checkout, or in a built wheel
   their copies in `controlplane/_shipped/`.

A `CONTROLPLANE_PROJECT` that names no directory is refused by `check_project`, which the CLI
calls before anything else (modules read the folders at import, so this cannot raise).

Each folder a project lacks comes from the shipped defaults, so a project may hold only its
own runbooks. `controlplane init DIR` writes a project directory to edit, a copy of the
shipped folders. The choice is made once per process, at first use.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from controlplane.errors import InvalidInput

__all__ = ["ENV", "FOLDERS", "PACKAGED", "SHIPPED", "check_project", "init_project", "project_file",
           "project_folder", "project_root"]

ENV = "CONTROLPLANE_PROJECT"
# A built wheel carries the defaults in the package (setup.py copies them there); a checkout
# and an editable install have them at the top of the checkout.
PACKAGED = Path(__file__).resolve().parent / "_shipped"
SHIPPED = PACKAGED if PACKAGED.is_dir() else Path(__file__).resolve().parents[1]
FOLDERS = ("experiments", "runbooks", "policies", "loadtests", "dashboards", "charts")
MARKERS = FOLDERS[:4]                 # what makes a directory a project


def _is_project(path: Path) -> bool:
    return any((path / name).is_dir() for name in MARKERS)


@functools.cache
def project_root() -> Path:
    """The project directory (see the module docstring)."""
    named = os.environ.get(ENV)
    if named:                       # checked by `check_project` (modules read this at import)
        return Path(named).expanduser().resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _is_project(candidate):
            return candidate
    return SHIPPED


def check_project() -> None:
    """Refuse a `CONTROLPLANE_PROJECT` that names no directory (the CLI asks first)."""
    named = os.environ.get(ENV)
    if named and not Path(named).expanduser().is_dir():
        raise InvalidInput("is not a directory", source=f"${ENV}", field=ENV, value=named,
                           fix="Name a project directory, or create one with "
                               "`controlplane init DIR`")


def project_folder(name: str) -> Path:
    """The project's `name` folder, or the shipped one when the project has none."""
    own = project_root() / name
    return own if own.is_dir() else SHIPPED / name


def project_file(relative: str) -> Path:
    """The project's file at `relative` ("policies/slos.yaml"), or the shipped one when the
    project has none."""
    own = project_root() / relative
    return own if own.is_file() else SHIPPED / relative


def init_project(target: Path) -> list[Path]:
    """Copy the shipped folders into `target` (created if need be); refuses to overwrite a
    folder that exists. The folders written."""
    if target.exists() and not target.is_dir():
        raise InvalidInput("exists and is not a directory", field="DIR", value=str(target),
                           fix="Name a new or an empty directory")
    taken = [name for name in FOLDERS if (target / name).exists()]
    if taken:
        raise InvalidInput(f"already holds {', '.join(taken)}", field="DIR", value=str(target),
                           fix="Name a new directory, or move those folders away first")
    written = []
    for name in FOLDERS:
        source = SHIPPED / name
        if source.is_dir():
            shutil.copytree(source, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            written.append(target / name)
    return written

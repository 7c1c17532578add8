"""The build step pyproject.toml cannot say: the folders users edit ship inside the wheel.

`experiments/`, `runbooks/`, `policies/`, `loadtests/`, `dashboards/` and `charts/` sit at the
top of the checkout, where users edit them. A built wheel copies them into
`controlplane/_shipped/`, where `controlplane.project` finds the defaults of a non-editable
install (a checkout and an editable install read the top-level folders themselves).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
FOLDERS = ("experiments", "runbooks", "policies", "loadtests", "dashboards", "charts")


class BuildWithDefaults(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:          # an editable install reads the checkout's folders
            return
        shipped = Path(self.build_lib) / "controlplane" / "_shipped"
        for name in FOLDERS:
            if (HERE / name).is_dir():
                shutil.copytree(HERE / name, shipped / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithDefaults})

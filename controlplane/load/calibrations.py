"""Where a capacity plan's basis comes from, and saying so.

In order: a calibration file the user names (`--calibration FILE`); the latest calibration
measured here (in this state directory's store, by `controlplane load calibrate`); the one
shipped with the project for the profile (`loadtests/calibration/PROFILE.json`, measured on
the date and machine it names, by the benchmark it names). A plan always says which basis it
used, so another machine's figures never pass for this machine's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.errors import InvalidInput
from controlplane.load.plan import Basis
from controlplane.load.profiles import LOADTESTS
from controlplane.store.load_runs import Calibration
from controlplane.userfiles import read_document

__all__ = ["SHIPPED_DIR", "BasisChoice", "from_file", "measured_here", "no_calibration",
           "shipped"]

SHIPPED_DIR = LOADTESTS / "calibration"


@dataclass(frozen=True)
class BasisChoice:
    basis: Basis
    kind: str           # "file", "measured here" or "shipped"
    detail: str         # where it came from, and when

    def describe(self) -> str:
        return f"{self.kind}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail}


def _day(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def _shown(path: Path) -> Path:
    """A path inside the project relative to it (as the README names it), else as given."""
    root = LOADTESTS.parent
    return path.relative_to(root) if path.is_relative_to(root) else path


def _read(path: Path, profile: str, field: str) -> dict[str, Any]:
    data = read_document(path, syntax="json")
    if not isinstance(data, dict) or not isinstance(data.get("basis"), dict):
        raise InvalidInput("not a calibration (no 'basis' object)", field=field,
                           value=str(path))
    if data.get("profile") != profile:
        raise InvalidInput(f"is a calibration of {data.get('profile')!r}, not {profile!r}",
                           field=field, value=str(path))
    return data


def _basis(data: dict[str, Any], path: Path, field: str) -> Basis:
    try:
        return Basis.from_dict(data["basis"])
    except (KeyError, TypeError) as err:
        raise InvalidInput(f"not a calibration: its basis lacks {err}", field=field,
                           value=str(path)) from None


def from_file(path: Path, profile: str) -> BasisChoice:
    basis = _basis(_read(path, profile, "--calibration"), path, "--calibration")
    return BasisChoice(basis, "file", f"{path}, measured {_day(basis.measured_at)}")


def measured_here(found: Calibration) -> BasisChoice:
    return BasisChoice(Basis.from_dict(found.result["basis"]), "measured here",
                       f"calibration #{found.id} in this state directory's store, "
                       f"measured {_day(found.measured_at)}")


def shipped(profile: str, directory: Path = SHIPPED_DIR) -> BasisChoice | None:
    """The calibration shipped for `profile`, or None when the project ships none."""
    path = directory / f"{profile}.json"
    if not path.is_file():
        return None
    data = _read(path, profile, "--profile")
    origin = data.get("shipped") or {}
    detail = (f"{_shown(path)}, measured {origin.get('measured_on', '?')} by "
              f"{origin.get('source', '?')} on {origin.get('machine', 'another machine')}; "
              f"not this machine (`controlplane load calibrate {profile}` measures it)")
    return BasisChoice(_basis(data, path, "--profile"), "shipped", detail)


def no_calibration(profile: str) -> InvalidInput:
    """Short enough that the command stays on one line of a 160-column log."""
    return InvalidInput("no calibration measured here or shipped", field="--profile",
                        value=profile, fix=f"Run `controlplane load calibrate {profile}` "
                        "against the cluster, or pass --calibration FILE")

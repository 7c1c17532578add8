"""Load profiles: named runs in `loadtests/profiles.yaml` (workload, shape, size, gates).

Loading a profile never imports a locustfile (that would monkey-patch this process with
gevent); the engine does, and reports import errors with the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from controlplane.errors import InvalidInput
from controlplane.project import project_folder
from controlplane.userfiles import first_error, read_document

__all__ = ["AUTO_DISTRIBUTED_ABOVE", "LOADTESTS", "PROFILES_FILE", "Profile", "load_profile",
           "load_profiles"]

LOADTESTS = project_folder("loadtests")
PROFILES_FILE = LOADTESTS / "profiles.yaml"
AUTO_DISTRIBUTED_ABOVE = 300     # users; `mode: auto` goes distributed above this


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    locustfiles: list[str] = Field(min_length=1)
    classes: list[str] = Field(default_factory=list)
    shape: str | None = None
    users: int = Field(gt=0, le=10_000_000)
    spawn_rate: float = Field(10.0, gt=0, le=100_000)
    duration_s: float = Field(gt=0, le=24 * 3600)
    mode: Literal["local", "distributed", "auto"] = "auto"
    workers: int | None = Field(None, gt=0, le=1024)
    gates: str = "default"
    env: dict[str, str] = Field(default_factory=dict)
    breakpoint: bool = False
    base_dir: Path = LOADTESTS

    @field_validator("shape")
    @classmethod
    def _shape(cls, value: str | None) -> str | None:
        if value is not None and value.count(":") != 1:
            raise ValueError("must be FILE:CLASS, like shapes/spike.py:Spike")
        return value

    def paths(self) -> list[Path]:
        """Every file the engine loads: the locustfiles, then the shape's file."""
        files = [self.base_dir / f for f in self.locustfiles]
        if self.shape:
            files.append(self.base_dir / self.shape.split(":")[0])
        return files

    def shape_class(self) -> str | None:
        return self.shape.split(":")[1] if self.shape else None

    def resolved_mode(self) -> Literal["local", "distributed"]:
        if self.mode == "auto":
            return "distributed" if self.users > AUTO_DISTRIBUTED_ABOVE else "local"
        return self.mode

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    path = path or PROFILES_FILE
    data = read_document(path, fix="Pass an existing profiles file with --profiles")
    raw = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(raw, dict) or not raw:
        raise InvalidInput("must map profile names to profiles", source=str(path),
                           field="profiles")
    profiles: dict[str, Profile] = {}
    for name, body in raw.items():
        try:
            if body is not None and not isinstance(body, dict):
                raise InvalidInput("a profile is a mapping of settings", source=str(path),
                                   field=f"profiles.{name}", value=body)
            profiles[name] = Profile.model_validate({**(body or {}), "name": name,
                                                     "base_dir": path.parent})
        except ValidationError as err:
            field, message, value = first_error(err.errors())
            raise InvalidInput(message, source=str(path), field=f"profiles.{name}.{field}",
                               value=value) from None
    return profiles


def load_profile(name: str, path: Path | None = None) -> Profile:
    profiles = load_profiles(path)
    if name not in profiles:
        raise InvalidInput(f"unknown profile; valid profiles: {', '.join(sorted(profiles))}",
                           source=str(path or PROFILES_FILE), field="PROFILE", value=name)
    return profiles[name]

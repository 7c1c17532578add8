"""Roles and their permissions, from `policies/roles.yaml` in the project."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controlplane.errors import InvalidInput
from controlplane.project import project_file
from controlplane.userfiles import first_error, read_document

__all__ = ["PEOPLE_ROLES", "PERMISSIONS", "Roles", "load_roles", "roles"]

PERMISSIONS = frozenset({
    "records:read", "metrics:read", "audit:read", "alerts:write", "telemetry:write",
    "chaos:halt", "chaos:resume", "chaos:run", "drills:run", "load:run", "runbooks:run",
    "runbooks:approve", "chaos:approve", "automation:pause", "users:admin"})
PEOPLE_ROLES = ("viewer", "operator", "sre", "admin")
FIX = "See the shipped policies/roles.yaml for the format"


class _Role(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=200)
    includes: list[str] = Field(default_factory=list, max_length=20)
    permissions: list[str] = Field(default_factory=list, max_length=50)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: dict[str, _Role] = Field(min_length=1, max_length=50)


class Roles:
    """Each role's permissions, its includes expanded."""

    def __init__(self, granted: dict[str, frozenset[str]], descriptions: dict[str, str],
                 source: str) -> None:
        self.granted = granted
        self.descriptions = descriptions
        self.source = source

    def allows(self, role: str, permission: str) -> bool:
        return permission in self.granted.get(role, frozenset())

    def check_role(self, role: str, field: str = "--role") -> str:
        if role not in self.granted:
            raise InvalidInput("is not a role", field=field, value=role,
                               fix=f"Use one of {', '.join(sorted(self.granted))} "
                                   f"(defined in {self.source})")
        return role


def load_roles(path: Path | None = None) -> Roles:
    path = path or project_file("policies/roles.yaml")
    source = str(path)
    data = read_document(path, fix=FIX)
    try:
        parsed = _File.model_validate(data)
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        raise InvalidInput(message, source=source, field=field, value=value, fix=FIX) from None
    for name, role in parsed.roles.items():
        for i, perm in enumerate(role.permissions):
            if perm not in PERMISSIONS:
                raise InvalidInput("is not a permission", source=source,
                                   field=f"roles.{name}.permissions[{i}]", value=perm,
                                   fix=f"Use one of {', '.join(sorted(PERMISSIONS))}")
        for i, other in enumerate(role.includes):
            if other not in parsed.roles:
                raise InvalidInput("includes a role the file does not define", source=source,
                                   field=f"roles.{name}.includes[{i}]", value=other, fix=FIX)
    granted = {name: frozenset(_expand(parsed.roles, name, (), source))
               for name in parsed.roles}
    return Roles(granted, {n: r.description for n, r in parsed.roles.items()}, source)


def _expand(defined: dict[str, _Role], name: str, seen: tuple[str, ...],
            source: str) -> set[str]:
    if name in seen:
        raise InvalidInput("roles include each other in a cycle", source=source,
                           field=f"roles.{seen[0]}.includes",
                           value=" -> ".join((*seen, name)), fix=FIX)
    role = defined[name]
    out = set(role.permissions)
    for other in role.includes:
        out |= _expand(defined, other, (*seen, name), source)
    return out


@functools.cache
def roles() -> Roles:
    """The project's roles, read once per process."""
    return load_roles()

"""The proxy's configuration file: its admin address and the links it carries.

    {"admin": {"host": "127.0.0.1", "port": 9000},
     "links": [{"name": "gateway->matcher-0", "listen": "127.0.0.1:19001",
                "upstream": "127.0.0.1:18081"}]}

Errors name the file, the field and the value (`InvalidInput`, exit code 2).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from controlplane.errors import InvalidInput

__all__ = ["LINK_NAME", "AdminConfig", "LinkConfig", "ProxyConfig", "load_config",
           "parse_config", "split_address"]

LINK_NAME = re.compile(r"^[A-Za-z0-9_.-]+->[A-Za-z0-9_.-]+$")


def split_address(text: str) -> tuple[str, int]:
    """"127.0.0.1:5432" -> ("127.0.0.1", 5432), "[::1]:80" -> ("::1", 80); ValueError
    saying what is wrong."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("must be host:port with a port from 0 to 65535")
    return host, int(port)


class AdminConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(ge=0, le=65535)
    # with a token, /v1/... asks for `Authorization: Bearer <token>` (the cluster sets one)
    token: str | None = Field(None, min_length=16, max_length=256, repr=False)


class LinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    listen: str
    upstream: str

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not LINK_NAME.match(name):
            raise ValueError("must look like <client>-><server>, e.g. gateway->matcher-0")
        return name

    @field_validator("listen", "upstream")
    @classmethod
    def _address(cls, text: str) -> str:
        split_address(text)
        return text

    @property
    def listen_at(self) -> tuple[str, int]:
        return split_address(self.listen)

    @property
    def upstream_at(self) -> tuple[str, int]:
        return split_address(self.upstream)


class ProxyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    admin: AdminConfig
    links: list[LinkConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ProxyConfig:
        names, listens = set(), set()
        for index, link in enumerate(self.links):
            if link.name in names:
                raise _Duplicate(f"links.{index}.name", "duplicate link name", link.name)
            if link.listen in listens and link.listen_at[1] != 0:
                raise _Duplicate(f"links.{index}.listen", "two links listen on it", link.listen)
            names.add(link.name)
            listens.add(link.listen)
        return self


class _Duplicate(ValueError):
    def __init__(self, field: str, message: str, value: str) -> None:
        super().__init__(message)
        self.field, self.message, self.value = field, message, value


def parse_config(data: Any, source: str) -> ProxyConfig:
    try:
        return ProxyConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, _Duplicate):
            raise InvalidInput(cause.message, source=source, field=cause.field,
                               value=cause.value) from None
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        value = None if first["type"] == "missing" else first.get("input")
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(message, source=source, field=field,
                           value=None if isinstance(value, dict) else value) from None


def load_config(path: str | Path) -> ProxyConfig:
    """Read and validate the JSON file; `InvalidInput` naming the file, field and value."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read the file: {exc.strerror}", source=source) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"not valid JSON: {exc}", source=source) from None
    return parse_config(data, source)

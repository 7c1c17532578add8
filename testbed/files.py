"""Read a JSON or YAML file into a pydantic model; errors name the file, the field and the value."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from testbed.errors import InvalidConfig

__all__ = ["load_json_model", "load_yaml_model", "validate_model"]

M = TypeVar("M", bound=BaseModel)


def load_json_model(path: str | Path, model: type[M]) -> M:
    return _load(Path(path), model, json.loads, "JSON")


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    return _load(Path(path), model, yaml.safe_load, "YAML")


def validate_model(source: str, model: type[M], data: Any) -> M:
    """Validate `data`; the first problem is an `InvalidConfig` naming `source` and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        value = first.get("input") if first["type"] != "missing" else None
        if isinstance(value, dict):
            value = None
        raise InvalidConfig(source, field, first["msg"], value) from None


def _load(path: Path, model: type[M], parse: Callable[[str], Any], kind: str) -> M:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidConfig(str(path), "", f"cannot read the file: {exc.strerror}") from None
    try:
        data = parse(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidConfig(str(path), "", f"not valid {kind}: {exc}") from None
    return validate_model(str(path), model, data)

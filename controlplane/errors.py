"""One root exception for everything the control plane refuses or fails to do.

Messages name the file, the field and the value, and say how to fix it, so that the CLI can
print them as they are and the API can return them as a 4xx body.
"""

from __future__ import annotations

import reprlib

__all__ = [
    "ClusterNotRunning",
    "ControlPlaneError",
    "GuardrailRefused",
    "InvalidInput",
    "InvalidTopology",
    "MissingDependency",
    "NotFound",
    "PlatformError",
    "PrometheusError",
    "Refused",
    "StoreError",
    "UnknownTarget",
    "Unreachable",
    "Unsupported",
    "UnsupportedMediaType",
    "quote",
]


QUOTE_LIMIT = 80
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 3, 4, 6, 6
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = 60, 40, 60


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A value as an error message shows it: repr, cut to `limit` characters. Bounded work
    whatever the value (a huge or deeply shared structure is never printed in full)."""
    try:
        text = _REPR.repr(value)
    except ValueError:              # an int beyond Python's 4300-digit str() limit
        text = "<a number of more than 4300 digits>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


class ControlPlaneError(Exception):
    """Root of every error the control plane raises on purpose."""

    exit_code = 1


class InvalidInput(ControlPlaneError):
    """Bad input: a file, a field, a value, and how to fix it."""

    exit_code = 2

    def __init__(self, message: str, *, source: str = "", field: str = "", value: object = None,
                 fix: str = "") -> None:
        self.message = message
        self.source = source
        self.field = field
        self.value = value
        self.fix = fix
        parts = [p for p in (source, field) if p]
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if value is not None:
            text += f" (got {quote(value)})"
        if fix:
            text += f". {fix}"
        super().__init__(text)


class UnsupportedMediaType(InvalidInput):
    """A request body's Content-Type or Content-Encoding that the route does not take (HTTP
    415)."""


class InvalidTopology(InvalidInput):
    """The topology file is malformed or inconsistent."""


class MissingDependency(ControlPlaneError):
    """A system package or binary the control plane needs is not installed."""

    exit_code = 3


class PlatformError(ControlPlaneError):
    """The platform could not carry out an action on the cluster."""


class UnknownTarget(PlatformError):
    """A component or instance name that the cluster does not have."""

    exit_code = 2

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = valid
        super().__init__(
            f"unknown {kind} {name!r}; valid {kind}s: {', '.join(valid) or '(none)'}")


NotFound = UnknownTarget     # the platform's "not found": callers catch either name


class Refused(PlatformError):
    """The platform refused an action in the cluster's present state (already running, last
    instance, still starting)."""


class Unreachable(PlatformError):
    """The platform cannot reach the cluster (no supervisor, no API server)."""


class ClusterNotRunning(Unreachable):
    """No cluster answers for this workspace."""


class Unsupported(PlatformError):
    """A capability this platform does not have: names the platform and what was asked."""

    exit_code = 2

    def __init__(self, platform: str, capability: str, hint: str = "") -> None:
        self.platform = platform
        self.capability = capability
        self.hint = hint
        super().__init__(f"the {platform} platform does not support {capability}"
                         + (f"; {hint}" if hint else ""))


class GuardrailRefused(ControlPlaneError):
    """A guardrail refused to start an experiment: which rule, why, and how to proceed."""

    exit_code = 4

    def __init__(self, rule: str, reason: str, how: str) -> None:
        self.rule = rule
        self.reason = reason
        self.how = how
        super().__init__(f"refused by guardrail '{rule}': {reason}. {how}")


class StoreError(ControlPlaneError):
    """The durable store cannot be opened or migrated."""


class PrometheusError(ControlPlaneError):
    """Prometheus rejected a query or could not be reached."""

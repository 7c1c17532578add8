"""The exceptions the testbed raises on purpose.

`InvalidConfig` names the file, the field and the value. `ApiError` is a refusal that the
HTTP layer renders as `{"error": {"field", "value", "message"[, "rule"]}[, "retryable"]}`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "InvalidConfig", "LedgerUnavailable", "TestbedError"]


class TestbedError(Exception):
    """Root of every error the testbed raises on purpose."""

    __test__ = False  # not a pytest test class


class InvalidConfig(TestbedError):
    """A configuration file is malformed: which file, which field, which value."""

    def __init__(self, source: str, field: str, message: str, value: Any = None) -> None:
        self.source = source
        self.field = field
        self.value = value
        text = f"{source}: {field}: {message}" if field else f"{source}: {message}"
        if value is not None:
            text += f" (got {value!r})"
        super().__init__(text)


class ApiError(TestbedError):
    """A request refused with an HTTP status and a JSON body naming the field and value."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 value: Any = None, rule: str | None = None, retryable: bool | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.value = value
        self.rule = rule
        self.retryable = retryable
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"field": self.field, "value": self.value, "message": self.message}
        if self.rule is not None:
            error["rule"] = self.rule
        body: dict[str, Any] = {"error": error, **self.extra}
        if self.retryable is not None:
            body["retryable"] = self.retryable
        return body


class LedgerUnavailable(TestbedError):
    """The ledger could not be reached (or kept failing) until the request's deadline."""

"""What a fault on a link is: the spec the admin API accepts, checked field by field.

    {"latency_ms": 200, "jitter_ms": 50, "direction": "both", "ttl_s": 60}

- `latency_ms` is what a request/response round trip gains. `direction` says where it is
  added: "upstream" (client -> server) or "downstream" (server -> client) take all of it,
  "both" (the default) puts half on each way. Each chunk is delayed from when it arrived.
- `jitter_ms` varies that delay uniformly by +-jitter_ms (split like the latency), never
  below zero and never reordering bytes within a connection.
- `bandwidth_kbps` (kilobits/s, 1 kbit = 1000 bits) caps each direction `direction` names,
  per connection, with a token bucket.
- `reset` resets (RST) every open connection and every new one; `reset_probability` resets
  each new connection with that probability.
- `blackhole` accepts bytes both ways and drops them: connections stay open, nothing passes.
- `ttl_s` (required, 0 < ttl_s <= 3600): the fault reverts itself after that long.

`direction` applies to latency, jitter and bandwidth; reset and blackhole take the whole
connection. A new spec replaces the previous one, on open connections too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from controlplane.errors import InvalidInput

__all__ = ["DIRECTIONS", "KINDS", "Direction", "FaultSpec", "parse_spec"]

Direction = Literal["upstream", "downstream"]
DIRECTIONS: tuple[Direction, ...] = ("upstream", "downstream")
KINDS = ("latency", "jitter", "bandwidth", "reset", "reset_probability", "blackhole")

MAX_TTL_S = 3600
MAX_DELAY_MS = 60_000


def _number(**bounds: float) -> Any:
    return Field(strict=True, allow_inf_nan=False, **bounds)


class FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl_s: float = _number(gt=0, le=MAX_TTL_S)
    latency_ms: float = _number(default=0, ge=0, le=MAX_DELAY_MS)
    jitter_ms: float = _number(default=0, ge=0, le=MAX_DELAY_MS)
    direction: Literal["upstream", "downstream", "both"] = "both"
    bandwidth_kbps: float | None = _number(default=None, gt=0)
    reset: StrictBool = False
    reset_probability: float = _number(default=0, ge=0, le=1)
    blackhole: StrictBool = False

    def kinds(self) -> list[str]:
        """The kinds of fault this spec turns on, in `KINDS` order."""
        on = {"latency": self.latency_ms > 0, "jitter": self.jitter_ms > 0,
              "bandwidth": self.bandwidth_kbps is not None, "reset": self.reset,
              "reset_probability": self.reset_probability > 0, "blackhole": self.blackhole}
        return [kind for kind in KINDS if on[kind]]

    def share(self, direction: Direction) -> float:
        """The part of the latency and jitter added on `direction`: 1, 0.5 or 0."""
        if self.direction == "both":
            return 0.5
        return 1.0 if self.direction == direction else 0.0

    def rate_bytes(self, direction: Direction) -> float | None:
        """The bandwidth cap on `direction` in bytes per second, or None."""
        if self.bandwidth_kbps is None or self.share(direction) == 0:
            return None
        return self.bandwidth_kbps * 1000 / 8

    def shapes(self, direction: Direction) -> bool:
        """Whether chunks on `direction` are delayed or paced at all."""
        delayed = (self.latency_ms > 0 or self.jitter_ms > 0) and self.share(direction) > 0
        return delayed or self.rate_bytes(direction) is not None


def parse_spec(data: Any, source: str = "fault spec") -> FaultSpec:
    """`data` as a `FaultSpec`, or `InvalidInput` naming the first bad field and its value."""
    if not isinstance(data, dict):
        raise InvalidInput("a fault spec is a JSON object", source=source, field="(body)",
                           value=type(data).__name__)
    try:
        spec = FaultSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(body)"
        value = None if first["type"] == "missing" else first.get("input")
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = f"unknown field; valid fields: {', '.join(FaultSpec.model_fields)}"
        raise InvalidInput(message, source=source, field=field, value=value) from None
    if spec.reset and spec.blackhole:
        raise InvalidInput("reset and blackhole cannot be combined", source=source,
                           field="blackhole", value=True, fix="Choose one of them")
    return spec

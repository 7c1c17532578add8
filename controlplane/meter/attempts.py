"""What the meter records about each write it attempted."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OUTCOMES", "Attempt"]

# ack: 2xx with an order id and sequence (durably committed)
# rejected: 4xx (the cluster answered and refused; not an outage)
# error: 5xx or a connection failure (the write did not happen)
# timeout: no answer in time (outcome unknown: it may have committed)
# skipped: not sent, because too many writes were already in flight (the meter's own limit)
OUTCOMES = ("ack", "rejected", "error", "timeout", "skipped")


@dataclass(frozen=True, slots=True)
class Attempt:
    n: int                    # 0, 1, 2, ... in schedule order
    intended: float           # when the open-model schedule said to send it (epoch s)
    done: float               # when the answer (or the failure) arrived
    outcome: str
    status: int = 0           # HTTP status, 0 when there was none
    client_order_id: str = ""
    order_id: str = ""
    ack_seq: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "ack"

    @property
    def latency(self) -> float:
        """From the intended send time, so a stall cannot hide its own latency."""
        return self.done - self.intended

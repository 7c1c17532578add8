"""The matcher: one price-time-priority order book per symbol, sharded by symbol, whose every
change is committed to the ledger before it is applied in memory."""

__all__: list[str] = []

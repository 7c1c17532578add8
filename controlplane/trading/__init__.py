"""Trading concerns built on platform primitives, so that every platform gets them unchanged:
the order-entry journals the RPO check reads (`journals`). The resharding of matcher symbols
still runs inside the local supervisor (see the README's architecture section)."""

"""The ledger: PostgreSQL tables for orders and trades, and the bootstrap that creates them."""

__all__: list[str] = []

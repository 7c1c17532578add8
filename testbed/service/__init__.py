"""What every testbed service is built from: HTTP middleware, a traced HTTP client, a traced ledger
pool, the /metrics /healthz /readyz routes and the entry-point scaffold."""

__all__: list[str] = []

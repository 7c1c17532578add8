"""testbed: the application services of the reference trading cluster.

Three real processes, each `python -m testbed.<service> --config <path.json>`:

- `testbed.gateway`: public order entry, validation and pre-trade risk checks;
- `testbed.matcher`: price-time-priority order books, sharded by symbol, backed by the ledger;
- `testbed.marketdata`: last trade and top of book per symbol, pushed by the matchers.

The control plane starts them, injects faults into them and measures them; nothing in here
imports `controlplane`.
"""

__all__: list[str] = []

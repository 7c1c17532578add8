"""The fake platform: a cluster kept in memory, for tests that need a platform but no processes.

`up(topology)` makes every instance of the topology (and the mesh's fault proxy) running and
ready at once; afterwards the contract's semantics hold as on the local platform: states
(starting, running, paused, backoff, stopped, exited, crashed), a new `incarnation` for every
life, `handle` "fake/<id>", the restart policy after a kill or crash (`always` and `on-failure`
bring it back, counting a restart; `never` leaves it crashed), freeze keeping it running but
unready, `confirm_dead` by life, scaling the gateway, matcher and market data but never below
one instance, typed errors (`UnknownTarget` for every unknown id, `Refused`, `Unsupported`).
The cluster lives in `<workspace>/fake-cluster.json`, so every `FakePlatform` opened on the
workspace (`open_platform`, the CLI, the server) sees the same one.

Tests may also inject what the API does not cause: `crash(id, exit_code)` (an exit of its own),
`promote(ledger node)` (a failover), `acknowledge(gateway, order id)` (its ack journal).

What the fake does NOT model:
- no process, port or database: endpoints point at 127.0.0.1:9, where nothing answers;
  `ledger_dsn`, `ledger_admin_dsn` raise `Unsupported`; `admin_request` answers a testbed
  service's `/admin/faults` and a gateway's `/admin/acks` only, anything else is `Unsupported`.
- no failover or replication by itself: ledger-0 is the primary and ledger-1 its synchronous
  standby until a test calls `promote`; a dead primary leaves the ledger unready.
- no effect of faults: network rules, CPU caps, link and service faults are recorded, counted
  and expire by their ttl, but drop, slow or fail nothing; their packet counters stay 0.
- helpers are recorded, never run (usage 0); a disk fill is a number against a 10 GB volume.
- one process per instance, matched by any `match` of `freeze_processes` / `process_states`.
- a graceful kill is a death by SIGTERM (exit code -15), which `on-failure` restarts.
- timing only where asked: `up(backoff_s=, ready_after_s=)` delay restarts and readiness
  (default 0: at once); `timeout` is ignored, nothing is waited for.
- the matcher's shards: scaling moves no symbols (the scale report has no epoch).
- `fence` is `Unsupported`, as on the local platform.
"""

from controlplane.platform.fake.platform import FakePlatform

__all__ = ["FakePlatform"]

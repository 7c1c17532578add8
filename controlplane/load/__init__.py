"""Load: Locust workloads run by the control plane, with SLO gates and honest latency.

Two sides, two kinds of process:

- **control-plane side** (plain Python, imported by the CLI): `profiles` (what to run),
  `gates` and `validity` (pass, fail or invalid), `run.LoadRun` (drives one run: engine,
  workers, gates, chaos), `chaos` (a Chaos Toolkit experiment hosted in-process),
  `placement` (the engine process and the `WorkerPool` interface: where workers run),
  `judge`/`results`/`plots`/`report` (the verdict and what is written), `capacity` and `plan`
  (calibration and the 1M-user plan), `calibrations` (the plan's basis: a file, measured here,
  or shipped in `loadtests/calibration/`), `records` (the store), `target` (loopback only).
- **load side** (gevent, Locust imported, one process each): `engine` (Locust as a library:
  the local runner or the master), `worker`, `users` and `shapes` (bases for the locustfiles
  in `loadtests/`), `hooks` (Locust events into the HdrHistograms of `record`), `inflight`.

Nothing here imports Locust at package import time: importing Locust monkey-patches the
process with gevent, which must never happen in the control plane.
"""

__all__: list[str] = []

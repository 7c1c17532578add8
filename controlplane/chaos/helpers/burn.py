"""Burn --cores CPUs (fractions allowed) for --duration seconds."""

from __future__ import annotations

import argparse
import multiprocessing
import time


def _spin(share: float, end: float) -> None:
    slice_s = 0.05
    while time.monotonic() < end:
        busy_until = time.monotonic() + slice_s * share
        while time.monotonic() < busy_until:
            pass
        if share < 1:
            time.sleep(slice_s * (1 - share))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args()
    end = time.monotonic() + args.duration
    whole, part = int(args.cores), args.cores - int(args.cores)
    shares = [1.0] * whole + ([part] if part > 0.01 else [])
    procs = [multiprocessing.Process(target=_spin, args=(s, end)) for s in shares[1:]]
    for p in procs:
        p.start()
    _spin(shares[0], end)
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()

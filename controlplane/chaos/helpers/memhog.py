"""Allocate and touch --megabytes of memory, hold it for --duration seconds."""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args()
    blocks = []
    for _ in range(args.megabytes):
        block = bytearray(1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])     # touch every page so it is resident
        blocks.append(block)
    time.sleep(args.duration)


if __name__ == "__main__":
    main()

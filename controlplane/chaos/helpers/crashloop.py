"""Kill an instance every --interval seconds for --duration seconds (a crash loop)."""

from __future__ import annotations

import argparse
import time

from controlplane.errors import ControlPlaneError
from controlplane.platform import open_platform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args()
    platform = open_platform(args.state)
    end = time.monotonic() + args.duration
    while time.monotonic() < end:
        try:
            platform.kill(args.instance)
        except ControlPlaneError:
            pass                      # not running right now (restarting): try next time
        time.sleep(args.interval)


if __name__ == "__main__":
    main()

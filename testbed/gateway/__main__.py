"""`python -m testbed.gateway --config <path.json>`"""

from __future__ import annotations

import sys

from testbed.common.main import run_service
from testbed.gateway.app import build

if __name__ == "__main__":
    sys.exit(run_service("gateway", build))

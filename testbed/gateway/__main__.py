"""`python -m testbed.gateway --config <path.json>`"""

from __future__ import annotations

import sys

from testbed.gateway.app import build
from testbed.service.main import run_service

if __name__ == "__main__":
    sys.exit(run_service("gateway", build))

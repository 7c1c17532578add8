"""`python -m testbed.marketdata --config <path.json>`"""

from __future__ import annotations

import sys

from testbed.marketdata.app import build
from testbed.service.main import run_service

if __name__ == "__main__":
    sys.exit(run_service("marketdata", build))

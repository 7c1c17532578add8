"""`python -m testbed.matcher --config <path.json>`"""

from __future__ import annotations

import sys

from testbed.matcher.app import build
from testbed.service.main import run_service

if __name__ == "__main__":
    sys.exit(run_service("matcher", build))

"""`python -m testbed.matcher --config <path.json>`"""

from __future__ import annotations

import sys

from testbed.common.main import run_service
from testbed.matcher.app import build

if __name__ == "__main__":
    sys.exit(run_service("matcher", build))

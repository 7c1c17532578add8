"""`python -m controlplane.platform.local.faultproxy --config <path.json>`"""

from __future__ import annotations

import sys

from controlplane.platform.local.faultproxy.main import main

if __name__ == "__main__":
    sys.exit(main())

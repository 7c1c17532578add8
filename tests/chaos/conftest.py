"""One real cluster per module (see tests/support/cluster.py), and after each test that uses
it, no fault left open (see tests/support/faults.py)."""

from tests.support.cluster import cluster  # noqa: F401
from tests.support.faults import no_fault_left_open  # noqa: F401

"""One real cluster per module (see tests/support/cluster.py)."""

from tests.support.cluster import cluster  # noqa: F401

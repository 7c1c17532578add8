"""Each chart's values.schema.json refuses a typo'd key and a wrong type, with a Helm error
that names the key, before anything renders.

Not covered: nothing is installed on a cluster; only Helm's own schema check runs.
"""

from __future__ import annotations

import helm_python
import pytest

from tests.charts.rendering import render

TYPOS = [
    ("controlplane", {"persistance": {"enabled": False}}, "persistance"),
    ("controlplane", {"monitoring": {"serviceMonitor": {"enable": True}}}, "enable"),
    ("trading-testbed", {"ledger": {"replica": 3}}, "replica"),
    ("locust", {"worker": {"replicas": 4}}, "worker"),
]
WRONG_TYPES = [
    ("controlplane", {"service": {"port": "4318"}}, "port"),
    ("trading-testbed", {"ledger": {"replicas": "three"}}, "replicas"),
    ("trading-testbed", {"ledger": {"synchronousMode": "yes"}}, "synchronousMode"),
    ("locust", {"workers": {"replicas": 2.5}}, "replicas"),
]


@pytest.mark.parametrize(("chart", "values", "key"), TYPOS)
def test_a_typo_is_refused_naming_the_key(chart: str, values: dict, key: str) -> None:
    """additionalProperties: false at every level: Helm names the unknown key.
    Not covered: the helm CLI's wording (same engine)."""
    with pytest.raises(helm_python.HelmValuesError) as caught:
        render(chart, values)
    message = str(caught.value)
    assert "additional properties" in message and f"'{key}'" in message, message


@pytest.mark.parametrize(("chart", "values", "key"), WRONG_TYPES)
def test_a_wrong_type_is_refused_naming_the_key(chart: str, values: dict, key: str) -> None:
    """Helm says where (the key's path) and what it expected.
    Not covered: the helm CLI's wording (same engine)."""
    with pytest.raises(helm_python.HelmValuesError) as caught:
        render(chart, values)
    message = str(caught.value)
    assert key in message and "want" in message, message


def test_a_ledger_below_patronis_least_ttl_is_refused() -> None:
    """A bound, not only a type: Patroni 4 takes no ttl under 20 s.
    Not covered: Patroni's own check."""
    with pytest.raises(helm_python.HelmValuesError, match="ttl"):
        render("trading-testbed", {"ledger": {"ttl": 5}})

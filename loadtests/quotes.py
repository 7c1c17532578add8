"""Quote watchers: clients polling the quote of one symbol, `pause_s` apart (default 1 s;
environment variable LOAD_QUOTE_PAUSE_S). With a pause of 0 it is the load generator's
ceiling on one endpoint, used by `benchmarks/load_generator_rps.py`.
    locust -f loadtests/quotes.py --headless -u 20 -r 20 -t 30s --host http://127.0.0.1:PORT
"""

from __future__ import annotations

import os

from _market import MARKET
from locust import task

from controlplane.load.users import PacedUser


class QuoteWatcher(PacedUser):
    pause_s = float(os.environ.get("LOAD_QUOTE_PAUSE_S", "1.0"))
    symbol = os.environ.get("LOAD_QUOTE_SYMBOL", "AAPL")
    connection_timeout = 5.0
    network_timeout = 10.0

    @task
    def watch(self) -> None:
        resp = self.call("GET", f"/v1/quotes/{self.symbol}", name="GET /v1/quotes/{symbol}")
        if resp.status_code == 200:
            MARKET.update(resp.json())
        self.pause(self.pause_s)

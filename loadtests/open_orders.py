"""Order flow at a constant arrival rate (open model): the headline latency workload.

Each user offers `rate` requests per second on a fixed schedule, each request in its own
greenlet, whether or not the earlier ones were answered; 10 users at 5/s offer 50 requests/s.
A request is an order (70%) or a quote read (30%). Runs as it is with the plain command:
    locust -f loadtests/open_orders.py --headless -u 10 -r 10 -t 60s --host http://127.0.0.1:PORT
"""

from __future__ import annotations

import os
import random
from typing import Any

from _market import MARKET, account_name

from controlplane.load.users import ArrivalRateUser


class OrderFlow(ArrivalRateUser):
    rate = float(os.environ.get("LOAD_ARRIVAL_RATE", "5"))
    connection_timeout = 5.0
    network_timeout = 10.0

    def on_start(self) -> None:
        super().on_start()
        self.account = account_name("flow")

    def request_args(self) -> tuple[str, str, str, tuple[int, ...], Any]:
        symbol = MARKET.symbol()
        if random.random() < 0.3:
            return "GET", f"/v1/quotes/{symbol}", "GET /v1/quotes/{symbol}", (200,), None
        side = random.choice(("buy", "sell"))
        body = {"account": self.account, "symbol": symbol, "side": side, "type": "limit",
                "quantity": random.randint(1, 20),
                "price": MARKET.price(symbol, side, spread_pct=1.0, cross=random.random() < 0.2)}
        return "POST", "/v1/orders", "POST /v1/orders", (201,), body

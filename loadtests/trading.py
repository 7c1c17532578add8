"""Trading users of the reference cluster: retail traders, market makers and API/quant clients.

Runs as it is with the plain command, e.g.
    locust -f loadtests/trading.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:PORT
and with a load shape:
    locust -f loadtests/trading.py,loadtests/shapes/spike.py --headless --host ...

Weights give the population mix: of 100 users, about 80 retail traders, 5 market makers and
15 API clients. Every request is paced by a schedule (see `controlplane.load.users`), so the
latency recorded by `controlplane load run` runs from the intended start.
"""

from __future__ import annotations

import random

from _market import MARKET, account_name
from locust import task

from controlplane.load.users import PacedUser

ORDER_OK = (201,)
CANCEL_OK = (200, 409)     # 409: already filled or cancelled, a normal race with the book


class TradingUser(PacedUser):
    abstract = True
    connection_timeout = 5.0
    network_timeout = 10.0
    kind = "trader"

    def on_start(self) -> None:
        super().on_start()
        self.account = account_name(self.kind)
        self.open_orders: list[str] = []

    def place(self, symbol: str, side: str, *, spread_pct: float, cross: bool = False,
              quantity: int | None = None) -> None:
        body = {"account": self.account, "symbol": symbol, "side": side, "type": "limit",
                "quantity": quantity or random.randint(1, 50),
                "price": MARKET.price(symbol, side, spread_pct=spread_pct, cross=cross)}
        resp = self.call("POST", "/v1/orders", name="POST /v1/orders", ok=ORDER_OK, json=body)
        if resp.status_code == 201:
            answer = resp.json()
            if answer.get("remaining"):
                self.open_orders.append(answer["order_id"])

    def cancel_one(self) -> None:
        if self.open_orders:
            order_id = self.open_orders.pop(random.randrange(len(self.open_orders)))
            self.call("DELETE", f"/v1/orders/{order_id}", name="DELETE /v1/orders/{id}",
                      ok=CANCEL_OK)

    def quote(self, symbol: str) -> None:
        resp = self.call("GET", f"/v1/quotes/{symbol}", name="GET /v1/quotes/{symbol}")
        if resp.status_code == 200:
            MARKET.update(resp.json())


class RetailTrader(TradingUser):
    """Browses quotes, places and cancels limit orders, checks positions; thinks in between
    (exponential think times, mean `think_s`)."""

    weight = 80
    kind = "retail"
    think_s = 5.0

    def think(self) -> None:
        self.pause(random.expovariate(1.0 / self.think_s))

    @task(4)
    def browse(self) -> None:
        resp = self.call("GET", "/v1/quotes", name="GET /v1/quotes")
        if resp.status_code == 200:
            MARKET.update(resp.json())
        self.think()
        self.quote(MARKET.symbol())
        self.think()

    @task(3)
    def trade(self) -> None:
        symbol = MARKET.symbol()
        self.quote(symbol)
        self.think()
        self.place(symbol, random.choice(("buy", "sell")), spread_pct=1.0,
                   cross=random.random() < 0.3)
        self.think()

    @task(2)
    def cancel(self) -> None:
        if not self.open_orders:
            return self.positions()
        self.cancel_one()
        self.think()

    @task(1)
    def positions(self) -> None:
        self.call("GET", f"/v1/positions/{self.account}", name="GET /v1/positions/{account}")
        self.think()


class MarketMaker(TradingUser):
    """Quotes both sides of a symbol around the last price and replaces its quotes at a high
    rate: a quote, two orders and cancels of the previous pair, every `cycle_s` seconds."""

    weight = 5
    kind = "mm"
    cycle_s = 0.5

    @task
    def requote(self) -> None:
        symbol = MARKET.symbol()
        self.quote(symbol)
        step = self.cycle_s / 5
        self.pause(step)
        previous = list(self.open_orders)
        self.open_orders.clear()
        for side in ("buy", "sell"):
            self.place(symbol, side, spread_pct=0.5, quantity=random.randint(10, 100))
            self.pause(step)
        for order_id in previous[:2]:
            self.call("DELETE", f"/v1/orders/{order_id}", name="DELETE /v1/orders/{id}",
                      ok=CANCEL_OK)
            self.pause(step)
        self.open_orders.extend(previous[2:])
        del self.open_orders[:-20]          # never keep more than 20 resting orders


class ApiClient(TradingUser):
    """A quant client: quiet for a while (mean `idle_s`), then a burst of `burst` requests
    20 ms apart: quotes, aggressive orders and cancels."""

    weight = 15
    kind = "api"
    idle_s = 8.0
    burst = 12
    burst_gap_s = 0.02

    @task
    def burst_of_orders(self) -> None:
        self.pause(random.expovariate(1.0 / self.idle_s))
        symbol = MARKET.symbol()
        for n in range(self.burst):
            if n % 4 == 0:
                self.quote(symbol)
            elif n % 4 == 3:
                self.cancel_one()
            else:
                self.place(symbol, random.choice(("buy", "sell")), spread_pct=0.3,
                           cross=random.random() < 0.5)
            self.pause(self.burst_gap_s)

"""marketdata: last trade and top of book per symbol, pushed by the matchers, with staleness."""

__all__: list[str] = []

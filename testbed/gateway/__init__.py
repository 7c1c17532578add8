"""gateway: the public order entry: validation, pre-trade risk, routing to the matcher shard."""

__all__: list[str] = []

"""The per-process configuration the platform writes as JSON: `--config <path.json>`.

Fields every service reads: service, instance, host, port, trading, otlp_endpoint.
gateway also needs ledger_dsn, matchers (index = shard number) and marketdata;
matcher needs ledger_dsn, marketdata, shard and shards; marketdata needs nothing more.
`shard_epoch` is the epoch of the shard map (gateway and matcher); the platform pushes newer
maps at run time through /admin/shardmap. `engine_cost_ms` (matcher) is the modelled time one
order holds the matcher's single-threaded engine (0: no model, today's behaviour).
`admin_token` (optional, any service) enables /admin/faults behind `Authorization: Bearer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from testbed.errors import InvalidConfig
from testbed.files import load_json_model

__all__ = ["ServiceConfig", "ServiceName", "load_service_config"]

ServiceName = Literal["gateway", "matcher", "marketdata"]

_REQUIRED: dict[str, tuple[str, ...]] = {
    "gateway": ("ledger_dsn", "matchers", "marketdata"),
    "matcher": ("ledger_dsn", "marketdata"),
    "marketdata": (),
}


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service: ServiceName
    instance: str = Field(min_length=1)
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    trading: Path
    otlp_endpoint: str | None = None
    # the bearer token the control plane's trace receiver asks for (none: send without one)
    otlp_token: str | None = Field(None, min_length=16, max_length=256, repr=False)
    ledger_dsn: str | None = None
    matchers: list[str] = Field(default_factory=list)
    shard: int = Field(0, ge=0)
    shards: int = Field(1, ge=1)
    shard_epoch: int = Field(1, ge=1)
    # The matching engine is single-threaded per instance: each order holds it this long.
    engine_cost_ms: float = Field(0.0, ge=0, le=1000)
    marketdata: str | None = None
    # How long the matcher retries a ledger transaction through a failover before a 503.
    ledger_deadline_seconds: float = Field(3.0, gt=0, le=60)
    # The bearer token of /admin (fault injection); without one /admin answers 404.
    admin_token: str | None = Field(None, min_length=16, max_length=256, repr=False)

    @field_validator("admin_token", "otlp_token")
    @classmethod
    def _printable(cls, token: str | None) -> str | None:
        if token is not None and not all("!" <= char <= "~" for char in token):
            raise ValueError("must be printable ASCII without spaces (it goes in an HTTP header)")
        return token

    def problem(self) -> tuple[str, str, object] | None:
        """The first (field, message, value) that makes this config unusable, or None."""
        for name in _REQUIRED[self.service]:
            if not getattr(self, name):
                return name, f"required for the {self.service} service", getattr(self, name)
        if self.shard >= self.shards:
            return "shard", f"must be below shards ({self.shards})", self.shard
        return None


def load_service_config(path: str | Path) -> ServiceConfig:
    """Read and validate the JSON file; raises `InvalidConfig` naming the file and field."""
    config = load_json_model(path, ServiceConfig)
    problem = config.problem()
    if problem is not None:
        field, message, value = problem
        raise InvalidConfig(str(path), field, message, value)
    return config

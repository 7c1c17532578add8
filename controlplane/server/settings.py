"""Settings of `controlplane serve`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["MachineCredential", "ServerSettings"]


class MachineCredential(BaseModel):
    """A credential of the cluster's own parts: its role, and the SHA-256 of its token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ServerSettings(BaseModel):
    """Where to listen, where the store lives, and how much telemetry to keep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(4318, ge=0, le=65535)  # 4318 is OTLP/HTTP's port; 0 picks a free one
    state_dir: Path | None = None  # holds controlplane.db; no drill API without it
    max_spans: int = Field(50_000, ge=1)
    forward_otlp_endpoint: str | None = None  # e.g. http://collector:4318/v1/traces
    forward_otlp_headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    summary_window_s: float = Field(300, gt=0)
    runbooks_dir: Path | None = None  # alerts start the runbooks there (needs state_dir)
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)  # per request, before and after gzip
    # distinct alert names the intake keeps; an alert of a new name past it is refused
    max_alert_names: int = Field(500, ge=1, le=100_000)
    # the continuous RPO audit of the gateways' acknowledgements (with runbooks_dir); 0: off
    ack_audit_interval_s: float = Field(5, ge=0, le=3600)
    ack_audit_window_s: float = Field(300, gt=0, le=86400)
    # machine credentials by name (the alert intake, telemetry, the scrape): `serve
    # --credentials FILE` reads them from a file of {name: {role, token}}
    machine_credentials: dict[str, MachineCredential] = Field(default_factory=dict)
    roles_file: Path | None = None          # default: the project's policies/roles.yaml
    audit_checkpoint_interval_s: float = Field(60, gt=0, le=86400)
    # scheduled GameDays (needs state_dir): the schedules file, and how often it is looked at
    gameday_schedules: Path | None = None
    schedule_interval_s: float = Field(30, gt=0, le=3600)
    # the Prometheus the availability view asks; default: the one the workspace's cluster runs
    prometheus_url: str | None = None

    @field_validator("forward_otlp_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL of an OTLP/HTTP traces endpoint")
        return value

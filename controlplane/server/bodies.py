"""The request bodies the service's routes take, as models: the handlers read their bodies
through `read_body` with these, and the OpenAPI document (`openapi.py`) describes each route's
body from the same model. Field types are checked strictly (no "1" for 1); what a value must
mean beyond its type (a halt's wait within bounds, a reason's length) the use case checks."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controlplane import jsonbody
from controlplane.errors import InvalidInput
from controlplane.userfiles import first_error

__all__ = ["BODIES", "ChaosRunBody", "DecisionBody", "DrillBody", "EmptyBody",
           "ExperimentDecisionBody", "HaltBody",
           "LoadRunBody", "PauseBody", "RunbookRunBody", "SessionBody", "read_body"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EmptyBody(_Body):
    """No fields: an empty object, or no body at all."""


class HaltBody(_Body):
    reason: str | None = Field(None, description="Why; recorded with the halt.",
                               max_length=500)
    wait_s: float | None = Field(
        None, description="How long to wait for the runners to revert their own faults "
        "before reverting them itself (0 to 120 s, default 1).", ge=0, le=120)


class DecisionBody(_Body):
    step: int | None = Field(None, ge=0, le=999,
                             description="The step to decide [default: the waiting one].")
    reason: str | None = Field(None, max_length=500)
    totp: str | None = Field(None, description="The approver's current TOTP code; a "
                             "sensitive runbook's step asks for it.", max_length=16)


class PauseBody(_Body):
    reason: str = Field(min_length=1, max_length=500, description="Why automation stops.")


class ChaosRunBody(_Body):
    experiments: str = Field(min_length=1, max_length=200, description="A tag selector "
                             "(fault=process-kill) or a path under the experiments folder.")
    policy: str | None = Field(None, max_length=40, description="The guardrails profile: "
                               "lab (policies/chaos-guardrails.yaml, the default) or the "
                               "NAME of policies/chaos-guardrails.NAME.yaml, e.g. production "
                               "(which waits for another person's approval).")


class ExperimentDecisionBody(_Body):
    reason: str | None = Field(None, max_length=500)
    totp: str | None = Field(None, description="The approver's current TOTP code.",
                             max_length=16)


class DrillBody(_Body):
    kind: str = Field(description="ledger-failover, ledger-hang or autoscale.", max_length=40)


class LoadRunBody(_Body):
    profile: str = Field(min_length=1, max_length=100, description="A profile of "
                         "loadtests/profiles.yaml.")


class RunbookRunBody(_Body):
    labels: dict[str, str] = Field(default_factory=dict, description="The alert labels the "
                                   "runbook's templates take, e.g. instance_id.")
    dry_run: bool = False


class SessionBody(_Body):
    token: str = Field(min_length=1, max_length=200, description="An API token of the user.")
    totp: str | None = Field(None, max_length=16,
                             description="The user's TOTP code, when they have a second factor.")


BODIES: dict[tuple[str, str], type[_Body]] = {
    ("POST", "/api/v1/sessions"): SessionBody,
    ("DELETE", "/api/v1/sessions"): EmptyBody,
    ("POST", "/api/v1/chaos/runs"): ChaosRunBody,
    ("POST", "/api/v1/chaos/recover"): EmptyBody,
    ("POST", "/api/v1/chaos/approvals/{request_id}/approve"): ExperimentDecisionBody,
    ("POST", "/api/v1/chaos/approvals/{request_id}/reject"): ExperimentDecisionBody,
    ("POST", "/api/v1/drills"): DrillBody,
    ("POST", "/api/v1/load/runs"): LoadRunBody,
    ("POST", "/api/v1/runbooks/{name}/runs"): RunbookRunBody,
    ("POST", "/api/v1/chaos/halt"): HaltBody,
    ("POST", "/api/v1/chaos/resume"): EmptyBody,
    ("POST", "/api/v1/runbooks/runs/{run_id}/approve"): DecisionBody,
    ("POST", "/api/v1/runbooks/runs/{run_id}/reject"): DecisionBody,
    ("POST", "/api/v1/runbooks/automation/pause"): PauseBody,
    ("POST", "/api/v1/runbooks/automation/resume"): EmptyBody,
}


M = TypeVar("M", bound=_Body)


async def read_body(request: web.Request, model: type[M]) -> M:
    """The body as `model`: a JSON object with only its fields (no body at all is `{}`);
    InvalidInput naming the field otherwise."""
    raw: Any = jsonbody.loads(await request.read(), field="(body)", empty={})
    if not isinstance(raw, dict):
        raise InvalidInput("must be a JSON object", field="(body)", value=type(raw).__name__)
    unknown = sorted(set(raw) - set(model.model_fields))
    if unknown:
        raise InvalidInput("unknown field; allowed: " + (", ".join(model.model_fields) or
                                                          "none"), field=unknown[0])
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        raise InvalidInput(message, field=field, value=value) from None

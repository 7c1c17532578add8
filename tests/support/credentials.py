"""Credentials for tests of the control-plane service: one machine credential per role the
tests need, and the header a request to a route should carry."""

from __future__ import annotations

from controlplane.security.tokens import secret_hash
from controlplane.server.access import ROUTE_PERMISSIONS
from controlplane.server.settings import MachineCredential, ServerSettings

__all__ = ["TOKENS", "bearer", "bearer_for", "with_test_credentials"]

# role -> token (made-up, well-formed; they only ever reach a test server)
TOKENS = {
    "admin": "cp_0000000000a1_" + "a" * 43,
    "alert-intake": "cp_0000000000b2_" + "b" * 43,
    "telemetry": "cp_0000000000c3_" + "c" * 43,
    "viewer": "cp_0000000000d4_" + "d" * 43,
    "operator": "cp_0000000000e5_" + "e" * 43,
    "sre": "cp_0000000000f6_" + "f" * 43,
    "scraper": "cp_0000000000a7_" + "g" * 43,
}
MACHINE_FOR_PERMISSION = {"alerts:write": "alert-intake", "telemetry:write": "telemetry"}


def with_test_credentials(settings: ServerSettings) -> ServerSettings:
    """`settings` accepting TOKENS (as machine credentials named test-<role>)."""
    creds = {f"test-{role}": MachineCredential(role=role, token_sha256=secret_hash(token))
             for role, token in TOKENS.items()}
    return settings.model_copy(update={"machine_credentials": {
        **creds, **settings.machine_credentials}})


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def bearer_for(method: str, route: str) -> dict[str, str]:
    """The header of a caller allowed on `route` (its template, or a concrete path that is a
    template with no parameter): the machine role for the intake and the trace receiver, the
    admin for the rest."""
    permission = ROUTE_PERMISSIONS.get((method, route), "")
    return bearer(MACHINE_FOR_PERMISSION.get(permission, "admin"))

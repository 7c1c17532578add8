"""The demo's web UI sign-in: a viewer added once, a fresh token each time, both audited."""

from __future__ import annotations

from pathlib import Path

from controlplane.application import access
from controlplane.security.roles import roles
from controlplane.store import Store, db_path


def test_the_demo_viewer_is_added_once_and_each_token_signs_in(tmp_path: Path) -> None:
    with Store(db_path(tmp_path)) as store:
        first = access.viewer_token(store, roles(), "demo-viewer", "cli:demo")
        second = access.viewer_token(store, roles(), "demo-viewer", "cli:demo")
        assert first != second
        assert [(u.name, u.role, u.has_totp) for u in store.users()] == [
            ("demo-viewer", "viewer", False)]
        _, session, user = access.login(store, second, None)
        assert user.role == "viewer" and session.user == "demo-viewer"
        actions = [e.action for e in store.audit_entries()]
    assert actions.count("user.add") == 1 and actions.count("token.create") == 2

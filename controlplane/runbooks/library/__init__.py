"""The built-in runbook actions; importing this package registers them all."""

from controlplane.runbooks.library import checks, ledger, notify, platform, traffic  # noqa: F401

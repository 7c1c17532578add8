"""The control-plane service (`controlplane serve`): OTLP receiver, read API and /metrics."""

from controlplane.server.app import create_app
from controlplane.server.run import RUNNER_OPTIONS, make_runner, run_server
from controlplane.server.settings import ServerSettings

__all__ = ["RUNNER_OPTIONS", "ServerSettings", "create_app", "make_runner", "run_server"]

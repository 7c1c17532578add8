"""`controlplane serve`: the control-plane service (OTLP receiver, API, own /metrics)."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from controlplane.errors import InvalidInput

__all__ = ["serve"]

OPTIONS = {"forward_otlp_endpoint": "--forward-otlp",    # settings field -> option
           "ack_audit_interval_s": "--ack-audit-interval"}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=4318, show_default=True)
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="State directory of the cluster (enables the drill records API).")
@click.option("--forward-otlp", default=None, envvar="CONTROLPLANE_FORWARD_OTLP",
              help="Also forward every received span batch to this OTLP/HTTP endpoint.")
@click.option("--forward-otlp-header", "forward_headers", multiple=True, metavar="NAME=VALUE",
              help="A header for the forward target, e.g. 'Authorization=Bearer ...'. "
              "Repeatable.")
@click.option("--max-spans", type=int, default=50_000, show_default=True,
              help="Spans kept in memory for trace queries and summaries.")
@click.option("--runbooks", "runbooks_dir", type=click.Path(path_type=Path), default=None,
              help="Run the runbooks in this folder when their alerts fire (with --state-dir).")
@click.option("--max-alert-names", type=int, default=500, show_default=True,
              help="Distinct alert names the alert intake keeps; an alert of a new name past "
              "it is refused and counted.")
@click.option("--ack-audit-interval", "ack_audit_interval_s", type=float, default=5,
              show_default=True, help="Seconds between checks that every order the gateways "
              "acknowledged in the last 5 minutes is in the ledger (with --runbooks); 0: off.")
@click.option("--credentials", "credentials_file", type=click.Path(path_type=Path),
              default=None, help="JSON file of machine credentials {name: {role, token}}: the "
              "alert intake, telemetry, the Prometheus scrape (`cluster up` writes one).")
@click.option("--gameday-schedules", "gameday_schedules", type=click.Path(path_type=Path),
              default=None, help="Run the GameDays this schedules file names when they are "
              "due (with --state-dir), e.g. policies/gameday-schedules.yaml.")
@click.option("--prometheus-url", default=None, help="The Prometheus the web UI's availability "
              "view asks (default: the one the --state-dir cluster runs).")
def serve(host: str, port: int, state_dir: Path | None, forward_otlp: str | None,
          forward_headers: tuple[str, ...], max_spans: int, runbooks_dir: Path | None,
          max_alert_names: int, ack_audit_interval_s: float,
          credentials_file: Path | None, gameday_schedules: Path | None,
          prometheus_url: str | None) -> None:
    """Run the control-plane service in the foreground; the web UI is at /ui/. Every route
    but /healthz, /readyz and the web UI's page and files needs a credential (`controlplane
    tokens create`)."""
    from controlplane.server import ServerSettings, run_server
    from controlplane.server.access import load_credentials

    machines = load_credentials(credentials_file) if credentials_file else {}
    headers = {}
    for given in forward_headers:
        name, sep, value = given.partition("=")
        if not sep or not name.strip() or not value:
            raise InvalidInput("must be NAME=VALUE", field="--forward-otlp-header",
                               value=given, fix="e.g. --forward-otlp-header "
                               "'Authorization=Bearer <token>'")
        headers[name.strip()] = value

    try:
        settings = ServerSettings(host=host, port=port, state_dir=state_dir,
                                  forward_otlp_endpoint=forward_otlp,
                                  forward_otlp_headers=headers, max_spans=max_spans,
                                  runbooks_dir=runbooks_dir, max_alert_names=max_alert_names,
                                  ack_audit_interval_s=ack_audit_interval_s,
                                  machine_credentials=machines,
                                  gameday_schedules=gameday_schedules,
                                  prometheus_url=prometheus_url)
    except ValidationError as err:
        e = err.errors()[0]
        name = str(e["loc"][0])
        option = OPTIONS.get(name, "--" + name.replace("_", "-"))
        raise InvalidInput(e["msg"].removeprefix("Value error, "), field=option,
                           value=e.get("input"), fix="See `controlplane serve --help`") from None
    if gameday_schedules is not None:
        from controlplane.chaos.schedules import load_schedules

        if state_dir is None:
            raise InvalidInput("needs --state-dir (where the GameDays are recorded)",
                               field="--gameday-schedules", value=str(gameday_schedules))
        load_schedules(gameday_schedules)          # a bad file is refused before serving
    run_server(settings)

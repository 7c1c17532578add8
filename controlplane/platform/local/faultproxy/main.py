"""`python -m controlplane.platform.local.faultproxy --config <path.json>`

Exit 2 with a message naming the file, field and value when the configuration is wrong;
1 when an address cannot be bound; 0 after SIGTERM or SIGINT, once the listeners and every
open connection are closed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from aiohttp import web
from prometheus_client import CollectorRegistry

from controlplane.errors import ControlPlaneError
from controlplane.platform.local.faultproxy.admin import admin_app
from controlplane.platform.local.faultproxy.config import ProxyConfig, load_config
from controlplane.platform.local.faultproxy.proxy import FaultProxy

__all__ = ["main", "serve"]

log = logging.getLogger("controlplane.faultproxy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controlplane.platform.local.faultproxy")
    parser.add_argument("--config", required=True, help="the JSON file the platform wrote")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s faultproxy %(name)s: %(message)s")
    try:
        asyncio.run(serve(load_config(args.config)))
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"error: cannot serve: {exc}", file=sys.stderr)
        return 1
    log.info("stopped")
    return 0


async def serve(config: ProxyConfig) -> None:
    """Serve every link and the admin API until SIGTERM or SIGINT."""
    proxy = FaultProxy(config, CollectorRegistry())
    runner = web.AppRunner(admin_app(proxy, config.admin.token), handle_signals=False,
                           access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await proxy.start()
        await web.TCPSite(runner, config.admin.host, config.admin.port,
                          reuse_address=True).start()
        log.info("admin on %s; links: %s", runner.addresses,
                 ", ".join(f"{link.name} {link.listen} -> {link.config.upstream}"
                           for link in proxy.links.values()))
        await stop.wait()
        log.info("stopping")
    finally:
        await proxy.stop()
        await runner.cleanup()

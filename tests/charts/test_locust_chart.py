"""The locust chart: a master Job and worker Jobs that run our locustfiles from a ConfigMap,
the workers reaching the master through its Service on 5557, with arguments Locust's own
parser accepts.

Not covered: nothing is installed on a cluster; no Locust process starts and no worker
connects here (no scheduler, no network).
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

from tests.charts.rendering import CHARTS, VARIANTS, find, render

REPO = CHARTS.parent


def _objects(variant: str) -> list[dict]:
    name, namespace, values = VARIANTS["locust"][variant]
    return render("locust", values, name=name, namespace=namespace)


# Locust's own parser, in a child process: importing locust here would monkey-patch this
# test process with gevent.
PARSE = """
import json, sys
from locust.argument_parser import parse_options
keys = ("master", "worker", "headless", "master_host", "master_port", "expect_workers",
        "num_users", "spawn_rate", "run_time", "web_port", "host", "locustfile")
print("\\n" + json.dumps([{k: getattr(parse_options(a), k) for k in keys}
                  for a in json.load(sys.stdin)]))
"""


def _parse_all(arg_lists: list[list[str]]) -> list[SimpleNamespace]:
    done = subprocess.run([sys.executable, "-c", PARSE], input=json.dumps(arg_lists),
                          capture_output=True, text=True, check=True, timeout=120)
    return [SimpleNamespace(**o) for o in json.loads(done.stdout.splitlines()[-1])]


def _args(job: dict) -> list[str]:
    return job["spec"]["template"]["spec"]["containers"][0]["args"]


def test_workers_reach_the_master_service_on_5557() -> None:
    """The master Service selects the master pod only and exposes 5557 (and 8089 with the web
    UI); the workers' --master-host is that Service; their count is the Job's parallelism and
    the master's --expect-workers.
    Not covered: a worker connecting (no network)."""
    checks = []
    for variant in VARIANTS["locust"]:
        objects = _objects(variant)
        (service,) = find(objects, "Service")
        (master,) = [j for j in find(objects, "Job") if j["metadata"]["name"].endswith("master")]
        (workers,) = [j for j in find(objects, "Job") if j["metadata"]["name"].endswith("worker")]
        labels = master["spec"]["template"]["metadata"]["labels"]
        assert labels.items() >= service["spec"]["selector"].items()
        assert not workers["spec"]["template"]["metadata"]["labels"].items() >= \
            service["spec"]["selector"].items()
        ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
        web = VARIANTS["locust"][variant][2].get("master", {}).get("web", {}).get("enabled")
        assert ports == ({"master": 5557, "web": 8089} if web else {"master": 5557})
        count = VARIANTS["locust"][variant][2].get("workers", {}).get("replicas", 2)
        assert workers["spec"]["parallelism"] == workers["spec"]["completions"] == count
        checks.append((service["metadata"]["name"], count, _args(workers), _args(master)))
    parsed = _parse_all([args for check in checks for args in check[2:]])
    for (service_name, count, _, _), worker, master_options in zip(
            checks, parsed[::2], parsed[1::2], strict=True):
        assert worker.worker and worker.master_host == service_name
        assert worker.master_port == 5557
        assert master_options.master and master_options.expect_workers == count


def test_master_arguments_parse_with_locust() -> None:
    """Headless by default (users, spawn rate, run time); with the web UI, no --headless.
    Not covered: a run (no Locust process starts)."""
    headless, web = _parse_all([_args(find(_objects("many-workers"), "Job")[0]),
                                _args(find(_objects("web-ui-and-shape"), "Job")[0])])
    assert headless.master and headless.headless
    assert (headless.num_users, headless.spawn_rate, headless.run_time) == (100000, 500, 600)
    assert not web.headless and web.web_port == 8089
    assert web.host == "http://tb-gateway.trading:8080"
    assert web.locustfile == "/loadtests/trading.py,/loadtests/shapes/ramp.py"


def test_every_locustfile_is_in_the_configmap_at_its_path() -> None:
    """All of loadtests/**.py (the shapes and _market.py that the locustfiles import) are
    mounted back at their paths under /loadtests, byte for byte.
    Not covered: the locustfiles importing there."""
    objects = _objects("default")
    (configmap,) = find(objects, "ConfigMap")
    for job in find(objects, "Job"):
        volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
        items = {i["path"]: configmap["data"][i["key"]]
                 for i in volumes["loadtests"]["configMap"]["items"]}
        files = {str(p.relative_to(REPO / "loadtests")): p.read_text(encoding="utf-8")
                 for p in (REPO / "loadtests").rglob("*.py")}
        assert items == files

"""The experiment catalogue, generated from the declared matrix in experiments/_catalogue.yaml.

One file per (fault, target, peer, intensity): a Chaos Toolkit experiment whose steady state is
made of SLO probes with tolerances set by the impact a resilient cluster should show, whose
method injects the fault and watches it for its duration, and whose rollback reverts every fault
of the run (with `rollbacks.strategy: always`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from controlplane.chaos.faults import FAULTS

__all__ = ["HOLD_TAG", "build_experiments", "generate_catalogue", "load_matrix"]

PROBES = "controlplane.chaos.probes"
ACTIONS = "controlplane.chaos.actions"
# The guard of such a run reverts on an operator's halt only, not on an SLO breach: a drill that
# needs the fault for its whole duration (a hang past the leader lease). The guardrails decide
# whether a policy allows it (`steady_state.allow_hold`).
HOLD_TAG = "guard:hold"
CONFIGURATION = {
    "controlplane_state_dir": {"type": "env", "key": "CONTROLPLANE_STATE_DIR",
                               "default": ".state/reference-trading"},
    "controlplane_run_id": {"type": "env", "key": "CONTROLPLANE_RUN_ID", "default": ""},
}


def load_matrix(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _slug(params: dict[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        short = {"duration_s": "", "interval_s": "every", "cores": "cores", "megabytes": "mb",
                 "percent": "pct", "connections": "conns", "hold_ms": "hold",
                 "every_ms": "per", "table": "", "latency_ms": "", "jitter_ms": "jitter",
                 "error_rate": "err", "bandwidth_kbps": "", "probability": "p",
                 "delay_ms": "delay"}.get(key, key)
        unit = ("s" if key.endswith("_s") else "ms" if key.endswith("_ms")
                else "kbps" if key.endswith("_kbps") else "")
        text = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(f"{short}{text}{unit}")
    return "-".join(parts).replace(".", "p")


def _name(target: str) -> str:
    return target.replace(":", "-")


def _hypothesis(expect: dict[str, Any], window: int) -> dict[str, Any]:
    if expect.get("canary"):
        probes = [{"type": "probe", "name": "canary-order-acknowledged",
                   "tolerance": True,
                   "provider": {"type": "python", "module": PROBES, "func": "canary_order",
                                "arguments": {"timeout_s": 3.0}}}]
        return {"title": "orders are acknowledged (canary)", "probes": probes}
    return {"title": f"gateway SLOs over the last {window} s", "probes": [
        {"type": "probe", "name": f"gateway-availability-{window}s",
         "tolerance": {"type": "range", "range": [expect["availability"], 1.0]},
         "provider": {"type": "python", "module": PROBES, "func": "slo_availability",
                      "arguments": {"service": "gateway", "window_s": window}}},
        {"type": "probe", "name": f"order-p99-ms-{window}s",
         "tolerance": {"type": "range", "range": [0, expect["p99_ms"]]},
         "provider": {"type": "python", "module": PROBES, "func": "slo_p99_ms",
                      "arguments": {"service": "gateway", "window_s": window,
                                    "route": "/v1/orders"}}},
    ]}


def _experiment(matrix: dict[str, Any], scenario: dict[str, Any], case: dict[str, Any],
                params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = FAULTS[scenario["fault"]]
    target, peer = case["target"], case.get("peer")
    expect = matrix["expectations"][case["expect"]]
    targets = matrix["targets"]
    what = targets[target]["what"] + (f" and {targets[peer]['what']}" if peer else "")
    args = {**params, **({"peer": peer} if peer else {})}
    observe = params.get("duration_s", matrix["observe_s"])
    slug = _slug(params)
    held = bool(scenario.get("hold"))
    name = "-".join(p for p in (scenario["fault"], _name(target),
                                _name(peer) if peer else "", "held" if held else "", slug) if p)
    intensity = ", ".join(f"{k}={v}" for k, v in params.items()) or "one shot"
    action = {"type": "action", "name": f"inject-{scenario['fault']}",
              "provider": {"type": "python", "module": ACTIONS, "func": "inject_fault",
                           "arguments": {"kind": scenario["fault"], "target": target,
                                         **({"parameters": args} if args else {})}},
              "pauses": {"after": observe}}
    return name, {
        "version": "1.0.0",
        "title": f"{scenario['fault']} {target}" + (f" <-> {peer}" if peer else "")
                 + (" held" if held else "") + (f" ({intensity})" if params else ""),
        "description": f"Tests {scenario['what']} {what} ({kind.summary}; {intensity}). "
                       f"Expected: {expect['text']}.",
        "tags": [f"fault:{scenario['fault']}", f"component:{targets[target]['component']}",
                 f"severity:{case['severity']}", f"runbook:{case['runbook']}",
                 f"category:{kind.category}", f"expect:{case['expect']}"]
                + ([f"peer:{targets[peer]['component']}"] if peer else [])
                + ([HOLD_TAG] if held else []),
        "configuration": CONFIGURATION,
        "steady-state-hypothesis": _hypothesis(expect, matrix["window_s"]),
        "method": [action],
        "rollbacks": [{"type": "action", "name": "revert-faults",
                       "provider": {"type": "python", "module": ACTIONS,
                                    "func": "revert_run_faults"}}],
        "runtime": {"rollbacks": {"strategy": "always"}},
    }


def build_experiments(matrix: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{relative path: experiment} for every cell of the matrix."""
    out: dict[str, dict[str, Any]] = {}
    for scenario in matrix["scenarios"]:
        for case in scenario["cases"]:
            for params in scenario.get("intensities", [{}]):
                name, exp = _experiment(matrix, scenario, case, params)
                component = matrix["targets"][case["target"]]["component"]
                path = f"{component}/{name}.json"
                if path in out:
                    raise ValueError(f"two cells of the matrix make {path}")
                out[path] = exp
    return out


def generate_catalogue(root: Path, write: bool = True) -> list[Path]:
    """Write (or, with write=False, compare) the catalogue; the files that differ."""
    wanted = {root / p: json.dumps(e, indent=2) + "\n"
              for p, e in build_experiments(load_matrix(root / "_catalogue.yaml")).items()}
    existing = {p for p in root.rglob("*.json") if not p.name.startswith("_")}
    changed = [p for p, text in wanted.items()
               if not p.exists() or p.read_text() != text]
    stale = sorted(existing - set(wanted))
    if write:
        for path in changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wanted[path])
        for path in stale:
            path.unlink()
    return sorted(changed) + stale

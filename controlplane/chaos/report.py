"""Suite reports: JSON (everything), JUnit XML (for CI systems), HTML (a timeline plot per
experiment), and each run's Chaos Toolkit journal (`<run id>/journal.json`, see `journal`)."""

from __future__ import annotations

import base64
import html
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from controlplane.chaos.journal import journal_path, write_journal
from controlplane.chaos.outcome import RunOutcome
from controlplane.chaos.plot import timeline_png

__all__ = ["write_reports"]


def write_reports(outcomes: list[RunOutcome], directory: Path, suite_id: str) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "report.json", "junit": directory / "junit.xml",
             "html": directory / "report.html"}
    journals = _journals(outcomes, directory)
    paths["json"].write_text(json.dumps(
        {"suite_id": suite_id, "generated_at": time.time(), "counts": _counts(outcomes),
         "runs": [o.summary() | ({"journal": str(journals[o.run_id].relative_to(directory))}
                                 if o.run_id in journals else {}) for o in outcomes]},
        indent=2, default=str))
    paths["junit"].write_bytes(_junit(outcomes, suite_id))
    paths["html"].write_text(_html(outcomes, suite_id))
    return paths | {f"journal {run_id}": path for run_id, path in journals.items()}


def _journals(outcomes: list[RunOutcome], directory: Path) -> dict[str, Path]:
    """Each run's Chaos Toolkit journal; a run chaoslib never played (refused, invalid) has
    none."""
    return {o.run_id: write_journal(o.journal, journal_path(directory, o.run_id))
            for o in outcomes if o.journal is not None}


def _counts(outcomes: list[RunOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    return counts


def _junit(outcomes: list[RunOutcome], suite_id: str) -> bytes:
    counts = _counts(outcomes)
    suite = ET.Element("testsuite", name=f"chaos {suite_id}", tests=str(len(outcomes)),
                       failures=str(counts.get("failed", 0)),
                       errors=str(counts.get("aborted", 0) + counts.get("interrupted", 0)),
                       skipped=str(counts.get("skipped", 0) + counts.get("refused", 0)),
                       time=f"{sum(o.ended_at - o.started_at for o in outcomes):.1f}")
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=Path(o.experiment).parent.name,
                             name=o.title, time=f"{o.ended_at - o.started_at:.1f}")
        if o.state == "failed":
            ET.SubElement(case, "failure", message=o.reason).text = o.reason
        elif o.state in ("aborted", "interrupted"):
            ET.SubElement(case, "error", message=o.reason).text = o.reason
        elif o.state in ("skipped", "refused"):
            ET.SubElement(case, "skipped", message=f"{o.state}: {o.reason}")
        ET.SubElement(case, "system-out").text = json.dumps(o.summary(), default=str)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


CSS = ("body{font-family:sans-serif;margin:2em} td,th{padding:4px 8px;border-bottom:1px solid "
       "#ddd} .passed td:nth-child(2){color:green} .failed td:nth-child(2),.aborted "
       "td:nth-child(2),.interrupted td:nth-child(2){color:#b00} .skipped td:nth-child(2),"
       ".refused td:nth-child(2){color:#a60} img{max-width:100%}")


def _num(x: object, unit: str = "s") -> str:
    return "-" if x is None else f"{x:.2f} {unit}" if isinstance(x, float) else f"{x} {unit}"


def _html(outcomes: list[RunOutcome], suite_id: str) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(_counts(outcomes).items()))
    rows, sections = [], []
    for o in outcomes:
        s = o.summary()
        rows.append(f"<tr class='{o.state}'><td>{html.escape(o.title)}</td><td>{o.state}</td>"
                    f"<td>{_num(s['detection_s'])}</td><td>{_num(s['abort_latency_s'])}</td>"
                    f"<td>{_num(s['rto_s'])}</td><td>{_num(s['rpo_orders'], 'orders')}</td>"
                    f"<td>{'yes' if s['all_faults_reverted'] else 'NO'}</td>"
                    f"<td>{html.escape(o.reason)}</td></tr>")
        img = ""
        if o.state not in ("refused",) and o.faults:
            img = ("<img src='data:image/png;base64,"
                   f"{base64.b64encode(timeline_png(o)).decode()}'>")
        sections.append(f"<h3>{html.escape(o.title)}</h3><p>{html.escape(o.experiment)}</p>"
                        f"{img}")
    return f"""<!doctype html><meta charset="utf-8"><title>chaos suite {suite_id}</title>
<style>{CSS}</style>
<h1>Chaos suite {suite_id}</h1><p>{len(outcomes)} experiments: {counts}</p>
<table><tr><th>experiment</th><th>state</th><th>detection</th><th>abort latency</th>
<th>RTO</th><th>RPO</th><th>reverted</th><th>reason</th></tr>{''.join(rows)}</table>
{''.join(sections)}"""

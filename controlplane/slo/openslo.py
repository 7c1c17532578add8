"""Our SLO policy as OpenSLO v1 documents, and back, losslessly for our three indicators.

One `apiVersion: openslo/v1`, `kind: SLO` document per SLO, the SLI inline
(`spec.indicator.metadata` and `.spec`), every query a Prometheus one
(`metricSource: {type: Prometheus, spec: {query: ...}}`):

- ratio: `ratioMetric` with `counter: true`, `bad` (our `errors`) and `total`;
  `budgetingMethod: Occurrences`.
- latency: `ratioMetric` with `counter: true`, `good` the histogram bucket at
  `le="<threshold_s>"` and `total` the same bucket selector at `le="+Inf"`;
  `budgetingMethod: Occurrences`. Read back by its shape: a `good` `_bucket` selector with an
  `le` matcher whose `total` is the same selector at `le="+Inf"`.
- freshness: `thresholdMetric` with the query `min(<gauge>)`, `budgetingMethod: Timeslices`
  and the objective `op: lte`, `value: <threshold_s>`, `timeSliceTarget: 1`,
  `timeSliceWindow: 1m`. Our rules judge every rule evaluation (each second, observe/
  scrape_config.py), so a one-minute slice with target 1 is the nearest OpenSLO words for it;
  on reading, `timeSliceTarget` and `timeSliceWindow` are not used.

The policy's `window` becomes each document's `spec.timeWindow: [{duration, isRolling:
true}]`; reading back, every document must name the same rolling window (none: ours, 30d).
`metadata.displayName`, the SLI's `metadata` and the objective's `displayName` are written
for people and ignored on reading. OpenSLO carries everything we need, so no
`metadata.annotations` are written or read.

What we assumed, from the OpenSLO v1 README (github.com/OpenSLO/OpenSLO): `spec.timeWindow`
is a list of exactly one item, rolling (`isRolling: true`) or calendar-aligned (`calendar:`);
`budgetingMethod` is `Occurrences` or `Timeslices`; an objective has `target` in [0, 1) or
`targetPercent` in [0, 100), and `op`/`value` only for a `thresholdMetric`; `ratioMetric` has
`good` or `bad` with `total`, or `raw` with `rawType`. Refused, naming the file, the document
(its `metadata.name`), the field and the value: other kinds (`SLI`, `Service`, `DataSource`,
...), `indicatorRef`, several objectives, calendar or non-rolling windows, months, quarters
and years, sources other than Prometheus (`metricSourceRef` included), `raw` ratios, a
`good`/`total` ratio that is not a histogram, and `alertPolicies` (our alerts come from
rules.py).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from pydantic import ValidationError

from controlplane.errors import InvalidInput
from controlplane.slo.model import SLO, SloPolicy
from controlplane.slo.rules import bucket
from controlplane.userfiles import first_error

__all__ = ["API_VERSION", "dump_openslo", "from_openslo", "is_openslo", "to_openslo"]

API_VERSION = "openslo/v1"
FIX = ("Write one `kind: SLO` document per SLO as `controlplane policies export --openslo` "
       "does (see controlplane/slo/openslo.py)")
_LE = re.compile(r'(?<=[{,])\s*le\s*=\s*"([^"]*)"\s*,?')


# ---- ours -> OpenSLO ---------------------------------------------------------------------

def _source(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def _indicator(slo: SLO) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """(indicator spec, budgeting method, objective fields beyond the target)."""
    ind = slo.indicator
    if ind.ratio:
        return ({"ratioMetric": {"counter": True, "bad": _source(ind.ratio.errors),
                                 "total": _source(ind.ratio.total)}}, "Occurrences", {})
    if ind.latency:
        hist = ind.latency.histogram
        return ({"ratioMetric": {"counter": True,
                                 "good": _source(bucket(hist, ind.latency.threshold_s)),
                                 "total": _source(bucket(hist, None))}}, "Occurrences", {})
    assert ind.freshness
    return ({"thresholdMetric": _source(f"min({ind.freshness.gauge})")}, "Timeslices",
            {"op": "lte", "value": ind.freshness.threshold_s, "timeSliceTarget": 1,
             "timeSliceWindow": "1m"})


def _title(name: str) -> str:
    return name.replace("-", " ").capitalize()


def _document(slo: SLO, window: str) -> dict[str, Any]:
    indicator, method, extra = _indicator(slo)
    kind = next(k for k in ("ratio", "latency", "freshness") if getattr(slo.indicator, k))
    spec: dict[str, Any] = {"description": slo.description} if slo.description else {}
    spec |= {
        "service": slo.service,
        "indicator": {"metadata": {"name": slo.name, "displayName": f"{_title(slo.name)} "
                                   f"({kind})"}, "spec": indicator},
        "timeWindow": [{"duration": window, "isRolling": True}],
        "budgetingMethod": method,
        "objectives": [{"displayName": f"{slo.objective * 100:.6g}% good", **extra,
                        "target": slo.objective}],
    }
    return {"apiVersion": API_VERSION, "kind": "SLO",
            "metadata": {"name": slo.name, "displayName": _title(slo.name)}, "spec": spec}


def to_openslo(policy: SloPolicy) -> list[dict[str, Any]]:
    """One OpenSLO v1 `kind: SLO` document per SLO of the policy."""
    return [_document(slo, policy.window) for slo in policy.slos]


def dump_openslo(policy: SloPolicy) -> str:
    """The policy as a multi-document OpenSLO YAML file."""
    header = "# OpenSLO v1, written by `controlplane policies export --openslo`.\n"
    return header + yaml.safe_dump_all(to_openslo(policy), sort_keys=False, width=120)


# ---- OpenSLO -> ours ---------------------------------------------------------------------

def is_openslo(docs: list[Any]) -> bool:
    """Whether the parsed documents are OpenSLO (any `apiVersion: openslo/...`)."""
    items = docs[0] if len(docs) == 1 and isinstance(docs[0], list) else docs
    return any(isinstance(d, dict) and str(d.get("apiVersion", "")).startswith("openslo/")
               for d in items)


class _Doc:
    """One document being read: where errors point."""

    def __init__(self, source: str, index: int, data: Any) -> None:
        self.source, self.index, self.data = source, index, data
        meta = data.get("metadata") if isinstance(data, dict) else None
        self.name = meta.get("name") if isinstance(meta, dict) else None

    def refuse(self, field: str, message: str, value: Any = None, fix: str = FIX) -> None:
        where = f"document {self.index}" + (f" ({self.name})" if self.name else "")
        raise InvalidInput(message, source=self.source, field=f"{where}: {field}",
                           value=value, fix=fix)

    def get(self, path: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
        node: Any = self.data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and not required:
            return None
        if not isinstance(node, kind) or isinstance(node, bool) and kind is not bool:
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple)
                                                     else (kind,)))
            self.refuse(path, "missing" if node is None else f"must be a {names}", node)
        return node


def _check_header(doc: _Doc) -> None:
    if not isinstance(doc.data, dict):
        doc.refuse("(document)", "an OpenSLO document must be a mapping", doc.data)
    if doc.data.get("apiVersion") != API_VERSION:
        doc.refuse("apiVersion", f"only {API_VERSION} is read", doc.data.get("apiVersion"))
    if doc.data.get("kind") != "SLO":
        doc.refuse("kind", "only kind: SLO is read, with its SLI inline",
                   doc.data.get("kind"),
                   "Put the SLI inline as spec.indicator and drop other kinds")
    doc.get("metadata.name", str)
    for field in ("indicatorRef", "alertPolicies"):
        if field in doc.get("spec", dict):
            doc.refuse(f"spec.{field}", "not supported", doc.data["spec"][field],
                       "Inline the SLI as spec.indicator; alerts come from "
                       "`controlplane policies render`" if field == "indicatorRef"
                       else "Drop it: the burn-rate alerts come from "
                       "`controlplane policies render`")


def _window(doc: _Doc) -> str | None:
    windows = doc.get("spec.timeWindow", list, required=False)
    if windows is None:
        return None
    if len(windows) != 1 or not isinstance(windows[0], dict):
        doc.refuse("spec.timeWindow", "must hold exactly one window", windows)
    window = windows[0]
    if "calendar" in window or window.get("isRolling") is not True:
        doc.refuse("spec.timeWindow.0", "only rolling windows are supported", window,
                   "Use a rolling window: {duration: 30d, isRolling: true}")
    duration = window.get("duration")
    if not isinstance(duration, str) or not re.fullmatch(r"\d{1,6}[smhdw]", duration):
        doc.refuse("spec.timeWindow.0.duration", "must be a duration in s, m, h, d or w",
                   duration, "Write months, quarters and years in days, e.g. 30d")
    return duration


def _query(doc: _Doc, path: str) -> str:
    source = doc.get(f"{path}.metricSource", dict)
    if "metricSourceRef" in source or source.get("type") != "Prometheus":
        doc.refuse(f"{path}.metricSource", "only inline Prometheus sources are supported",
                   source.get("metricSourceRef") or source.get("type"),
                   "Give type: Prometheus and spec.query, without metricSourceRef")
    query: str = doc.get(f"{path}.metricSource.spec.query", str)
    return query.strip()


def _objective(doc: _Doc) -> dict[str, Any]:
    objectives = doc.get("spec.objectives", list)
    if len(objectives) != 1 or not isinstance(objectives[0], dict):
        doc.refuse("spec.objectives", "exactly one objective is supported",
                   objectives, "Write one SLO document per objective")
    objective: dict[str, Any] = objectives[0]
    return objective


def _target(doc: _Doc, objective: dict[str, Any]) -> Any:
    if "target" in objective:
        return objective["target"]
    percent = objective.get("targetPercent")
    if isinstance(percent, int | float) and not isinstance(percent, bool):
        return round(percent / 100, 12)
    doc.refuse("spec.objectives.0.target", "give target (0 to 1) or targetPercent", percent)
    return None


def _without_le(selector: str) -> tuple[str, str | None]:
    """(the selector without its le matcher, the le value or None)."""
    match = _LE.search(selector)
    if not match:
        return selector, None
    rest = _LE.sub("", selector, count=1)
    rest = re.sub(r",\s*}", "}", rest).replace("{}", "")
    return rest, match.group(1)


def _latency(doc: _Doc, good: str, total: str) -> dict[str, Any]:
    base, le = _without_le(good)
    total_base, total_le = _without_le(total)
    if le is None or not base.split("{")[0].endswith("_bucket") or total_le != "+Inf" or \
            base.replace(" ", "") != total_base.replace(" ", ""):
        doc.refuse("spec.indicator.spec.ratioMetric.good",
                   "a good/total ratio is read only as a histogram: good the _bucket "
                   'selector at le="<seconds>", total the same at le="+Inf"', good,
                   "Or give bad (the error counter) and total instead of good")
    try:
        threshold = float(le or "")
    except ValueError:
        doc.refuse("spec.indicator.spec.ratioMetric.good", "le must be a number of seconds", le)
    return {"latency": {"histogram": base, "threshold_s": threshold}}


def _ratio(doc: _Doc, method: str) -> dict[str, Any]:
    path = "spec.indicator.spec.ratioMetric"
    metric = doc.get(path, dict)
    if method != "Occurrences":
        doc.refuse("spec.budgetingMethod", "a ratioMetric is budgeted by Occurrences", method)
    if "raw" in metric:
        doc.refuse(f"{path}.raw", "precomputed ratios are not supported", metric["raw"],
                   "Give bad (or good) and total counters")
    if metric.get("counter") is not True:
        doc.refuse(f"{path}.counter", "must be true: our SLIs are rates of counters",
                   metric.get("counter"))
    if ("good" in metric) == ("bad" in metric):
        doc.refuse(path, "give exactly one of good or bad, with total", sorted(metric))
    total = _query(doc, f"{path}.total")
    if "bad" in metric:
        return {"ratio": {"errors": _query(doc, f"{path}.bad"), "total": total}}
    return _latency(doc, _query(doc, f"{path}.good"), total)


def _freshness(doc: _Doc, method: str, objective: dict[str, Any]) -> dict[str, Any]:
    if method != "Timeslices":
        doc.refuse("spec.budgetingMethod", "a thresholdMetric is budgeted by Timeslices",
                   method)
    if objective.get("op") != "lte":
        doc.refuse("spec.objectives.0.op", "only lte (good while at most value) is supported",
                   objective.get("op"))
    query = _query(doc, "spec.indicator.spec.thresholdMetric")
    match = re.fullmatch(r"min\s*\((.*)\)", query, re.DOTALL)
    return {"freshness": {"gauge": (match.group(1) if match else query).strip(),
                          "threshold_s": objective.get("value")}}


def _slo(doc: _Doc) -> tuple[dict[str, Any], str | None]:
    _check_header(doc)
    method = doc.get("spec.budgetingMethod", str)
    objective = _objective(doc)
    spec = doc.get("spec.indicator.spec", dict)
    if ("ratioMetric" in spec) == ("thresholdMetric" in spec):
        doc.refuse("spec.indicator.spec", "give exactly one of ratioMetric or thresholdMetric",
                   sorted(spec))
    indicator = _ratio(doc, method) if "ratioMetric" in spec else \
        _freshness(doc, method, objective)
    slo = {"name": doc.name, "service": doc.get("spec.service", str),
           "description": doc.get("spec.description", str, required=False) or "",
           "objective": _target(doc, objective), "indicator": indicator}
    return slo, _window(doc)


_FIELDS = {"name": "metadata.name", "service": "spec.service",
           "description": "spec.description", "objective": "spec.objectives.0.target",
           "indicator": "spec.indicator.spec"}


def _validated(doc: _Doc, slo: dict[str, Any]) -> SLO:
    try:
        return SLO.model_validate(slo)
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        top, _, rest = field.partition(".")
        doc.refuse(_FIELDS.get(top, field) + (f" ({rest})" if rest else ""), message, value)
        raise AssertionError("unreachable") from None


def from_openslo(docs: list[Any], source: str) -> SloPolicy:
    """The policy the OpenSLO documents describe, or InvalidInput naming the document."""
    if len(docs) == 1 and isinstance(docs[0], list):
        docs = docs[0]
    slos, windows = [], {}
    for index, data in enumerate(docs, start=1):
        doc = _Doc(source, index, data)
        slo, window = _slo(doc)
        slos.append(_validated(doc, slo))
        windows[window or SloPolicy.model_fields["window"].default] = doc
    if len(windows) > 1:
        _, doc = sorted(windows.items())[-1]
        doc.refuse("spec.timeWindow.0.duration", "every SLO of a file must have the same "
                   "window", sorted(windows), "Split the file, one per window")
    try:
        return SloPolicy(window=next(iter(windows)), slos=slos)
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        raise InvalidInput(message, source=source, field=field, value=value, fix=FIX) from None

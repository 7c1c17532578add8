"""SLO policies: what good means for each service, over which window, with what objective.

    slos:
      - name: order-availability
        service: gateway
        objective: 0.9999
        indicator: {ratio: {errors: '<counter selector>', total: '<counter selector>'}}

Three kinds of indicator: `ratio` (error events over all events, from counters), `latency`
(events slower than a threshold, from a histogram) and `freshness` (samples of a gauge above a
threshold). A file that does not fit names the file, the field and the value.

`load_slos` also reads a file of OpenSLO v1 `kind: SLO` documents (openslo.py), told apart by
`apiVersion: openslo/v1`.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from controlplane.errors import InvalidInput, quote
from controlplane.project import project_file
from controlplane.userfiles import first_error, read_documents

__all__ = ["DEFAULT_SLOS", "SLO", "SloPolicy", "duration_seconds", "load_slos"]

DEFAULT_SLOS = project_file("policies/slos.yaml")
_DURATION = re.compile(r"^(\d{1,6})(s|m|h|d|w)$")
MAX_WINDOW_S = 400 * 86400      # a year and a bit: longer SLO windows are a typo
_SELECTOR = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?$")


def duration_seconds(text: str) -> int:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{quote(text)} is not a duration like 30s, 5m, 1h, 30d")
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400,
                                     "w": 604800}[match.group(2)]
    if not 0 < seconds <= MAX_WINDOW_S:
        raise ValueError(f"{quote(text)} is not a duration above 0 and at most 400d")
    return seconds


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _selector(value: str) -> str:
    if not _SELECTOR.match(value.strip()):
        raise ValueError("must be a metric selector like name{label=\"value\"}")
    return value.strip()


class Ratio(_M):
    errors: str
    total: str

    @model_validator(mode="after")
    def _check(self) -> Ratio:
        _selector(self.errors)
        _selector(self.total)
        return self


class Latency(_M):
    histogram: str = Field(description="a _bucket series selector")
    threshold_s: float = Field(gt=0, le=3600)

    @model_validator(mode="after")
    def _check(self) -> Latency:
        if not _selector(self.histogram).split("{")[0].endswith("_bucket"):
            raise ValueError("histogram must select a _bucket series")
        return self


class Freshness(_M):
    gauge: str
    threshold_s: float = Field(gt=0, le=3600)

    @model_validator(mode="after")
    def _check(self) -> Freshness:
        _selector(self.gauge)
        return self


class Indicator(_M):
    ratio: Ratio | None = None
    latency: Latency | None = None
    freshness: Freshness | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Indicator:
        if sum(x is not None for x in (self.ratio, self.latency, self.freshness)) != 1:
            raise ValueError("give exactly one of ratio, latency or freshness")
        return self


class SLO(_M):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,60}$")
    service: str
    description: str = ""
    objective: float = Field(gt=0, lt=1)
    indicator: Indicator

    @property
    def budget(self) -> float:
        """The share of events allowed to be bad."""
        return 1 - self.objective


class SloPolicy(_M):
    window: str = "30d"
    slos: list[SLO]

    @model_validator(mode="after")
    def _unique(self) -> SloPolicy:
        duration_seconds(self.window)
        names = [s.name for s in self.slos]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"SLO names must be unique; repeated: {sorted(dup)}")
        return self


def load_slos(path: Path | None = None) -> SloPolicy:
    """The policy in `path` (default policies/slos.yaml): our format or OpenSLO v1."""
    path = path or DEFAULT_SLOS
    docs = read_documents(path, fix="Pass an existing SLO file")
    from controlplane.slo import openslo  # it builds on this module

    if openslo.is_openslo(docs):
        return openslo.from_openslo(docs, str(path))
    if len(docs) > 1:
        raise InvalidInput(f"holds {len(docs)} YAML documents and no apiVersion: "
                           f"{openslo.API_VERSION}", source=str(path),
                           fix="Write one policy document, or OpenSLO v1 documents")
    data = docs[0]
    try:
        return SloPolicy.model_validate(data)
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        raise InvalidInput(message, source=str(path), field=field, value=value,
                           fix="See policies/slos.yaml for the format") from None

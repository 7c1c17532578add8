"""The few panel shapes the dashboards use, on grafana-foundation-sdk's builders: a stat, a
time series and a table, each querying the dashboard's Prometheus datasource variable."""

from __future__ import annotations

from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.models.dashboard import DataSourceRef, Threshold, ThresholdsMode
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

__all__ = ["DATASOURCE", "DATASOURCE_VAR", "Query", "stat_panel", "table_panel",
           "timeseries_panel"]

DATASOURCE_VAR = "datasource"
# every panel and query points at the variable; `dashboards push --datasource-uid` pins it
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${" + DATASOURCE_VAR + "}")
Query = tuple[str, str]             # (PromQL, legend)


def _queries(queries: list[Query], *, instant: bool = False,
             table_format: bool = False) -> list[prometheus.Dataquery]:
    built = []
    for i, (expr, legend) in enumerate(queries):
        q = (prometheus.Dataquery().expr(expr).legend_format(legend or "__auto")
             .ref_id(chr(ord("A") + i)).datasource(DATASOURCE))
        q = q.instant() if instant else q.range()
        if table_format:
            q = q.format(PromQueryFormat.TABLE)
        built.append(q)
    return built


def _thresholds(steps: list[tuple[float | None, str]]) -> ThresholdsConfig:
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
        [Threshold(value=v, color=c) for v, c in steps])


def stat_panel(title: str, description: str, queries: list[Query], unit: str = "short", *,
               steps: list[tuple[float | None, str]] | None = None, width: int = 6,
               decimals: int | None = None) -> stat.Panel:
    panel = (stat.Panel().title(title).description(description).datasource(DATASOURCE)
             .unit(unit).span(width).height(5).with_target(_queries(queries, instant=True)[0]))
    for q in _queries(queries, instant=True)[1:]:
        panel = panel.with_target(q)
    if steps:
        panel = panel.thresholds(_thresholds(steps))
    if decimals is not None:
        panel = panel.decimals(decimals)
    return panel


def timeseries_panel(title: str, description: str, queries: list[Query], unit: str = "short",
                     *, width: int = 12) -> timeseries.Panel:
    panel = (timeseries.Panel().title(title).description(description).datasource(DATASOURCE)
             .unit(unit).span(width).height(8))
    for q in _queries(queries):
        panel = panel.with_target(q)
    return panel


def table_panel(title: str, description: str, queries: list[Query], *,
                width: int = 12) -> table.Panel:
    panel = (table.Panel().title(title).description(description).datasource(DATASOURCE)
             .span(width).height(8))
    for q in _queries(queries, instant=True, table_format=True):
        panel = panel.with_target(q)
    return panel

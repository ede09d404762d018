"""/api/metrics: satisfaction metrics with n, intervals, change and targets; /api/metrics/drivers."""

import inspect
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from feedback.analysis.drivers import DRIVERS, OUTCOMES, DriverResult
from feedback.analysis.metrics import METRICS
from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.metrics.service import (
    DIMENSIONS,
    SOURCE_DIMENSIONS,
    DriversQuery,
    MetricsQuery,
    company_dimensions,
    parse_by,
    parse_filters,
    parse_metrics,
    parse_period,
    parse_time,
    parse_tz,
    read_drivers,
    read_metrics,
)
from feedback.web.auth import READERS, authorize
from feedback.web.params import Time, choices_pattern
from feedback.web.state import AnyRequest, AppContext

Text = Annotated[str | None, QueryParameter(required=False, max_length=2000)]
MetricNames = Annotated[
    str | None, QueryParameter(required=False, pattern=choices_pattern((*METRICS, "all")), max_length=2000)
]
# Built-in dimensions, or the company's fields (declared at run time: checked by parse_by, a 422 naming "by").
Dimensions = Annotated[
    str | None,
    QueryParameter(required=False, pattern=r"^[a-z][a-z0-9_]*(?:,[a-z][a-z0-9_]*)*$", max_length=2000),
]
Period = Annotated[Literal["day", "week", "month"] | None, QueryParameter(required=False)]
Outcome = Annotated[str, QueryParameter(pattern=f"^(?:{'|'.join(OUTCOMES)})$")]
Driver = Annotated[str, QueryParameter(pattern=f"^(?:{'|'.join(DRIVERS)})$")]
MinN = Annotated[int | None, QueryParameter(required=False, ge=1, le=1_000_000)]


class MetricRowOut(msgspec.Struct):
    period: date | None
    group: dict[str, str | None]
    metric: str
    value: float | None
    n: int
    low: float | None
    high: float | None
    small_sample: bool
    previous: float | None
    change: float | None
    target: float | None
    target_gap: float | None
    target_met: bool | None


class MetricsOut(msgspec.Struct):
    since: datetime
    until: datetime
    period: str | None
    tz: str
    min_n: int
    metrics: list[str]
    by: list[str]
    rows: list[MetricRowOut]


Filters = dict[str, tuple[str, ...]]


def filters_from_query(names: Sequence[str]) -> Provide:
    """A dependency reading one query parameter per dimension in ``names`` (``?channel=phone,chat``), made
    from the dimension list itself (metrics/service.py, from models/context.py) so a new context field is
    a filter here, and documented in the API schema, without a line in this file. The company's fields
    (declared at run time, FEEDBACK_CONTEXT_FIELDS_FILE) are filters by their names too (``?plan=pro``)."""

    def read(request: AnyRequest, **values: str | None) -> Filters:
        company = {n: ",".join(request.query_params.getall(n, [])) for n in company_dimensions()}
        return parse_filters({**values, **{n: v for n, v in company.items() if v}})

    parameters = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=AnyRequest),
        *(inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Text) for n in names),
    ]
    read.__signature__ = inspect.Signature(parameters, return_annotation=Filters)  # type: ignore[attr-defined]
    read.__annotations__ = {"request": AnyRequest, **{n: Text for n in names}, "return": Filters}
    return Provide(read, sync_to_thread=False)


class MetricsController(Controller):
    path = "/api/metrics"
    tags = ["metrics"]

    @get(
        sync_to_thread=True,
        summary="Metrics by period and dimension, each with n, 95% interval, change, target",
        dependencies={"filters": filters_from_query(DIMENSIONS)},
    )
    def metrics(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        filters: NamedDependency[Filters],
        metric: MetricNames = None,
        by: Dimensions = None,
        period: Period = None,
        tz: Text = None,
        since: Time = None,
        until: Time = None,
        min_n: MinN = None,
    ) -> MetricsOut:
        zone = parse_tz(tz)
        query = MetricsQuery(
            metrics=parse_metrics(metric),
            by=parse_by(by),
            period=parse_period(period),
            tz=zone,
            since=parse_time(since, "since"),
            until=parse_time(until, "until"),
            filters=filters,
            min_n=min_n or ctx.settings.metrics_min_n,
        )
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            result = read_metrics(session, caller, query)
        rows = [
            MetricRowOut(
                period=r["period"],
                group={name: r[name] for name in query.by},
                metric=r["metric"],
                value=r["value"],
                n=r["n"],
                low=r["low"],
                high=r["high"],
                small_sample=r["small_sample"],
                previous=r["previous"],
                change=r["change"],
                target=r["target"],
                target_gap=r["target_gap"],
                target_met=r["target_met"],
            )
            for r in result.table.iter_rows(named=True)
        ]
        return MetricsOut(
            result.since,
            result.until,
            query.period,
            zone,
            query.min_n,
            list(query.metrics),
            list(query.by),
            rows,
        )

    @get(
        "/drivers",
        sync_to_thread=True,
        summary="How a metric moves with handle time, wait time, first-contact resolution or channel",
        dependencies={"filters": filters_from_query(SOURCE_DIMENSIONS["responses"])},
    )
    def drivers(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        filters: NamedDependency[Filters],
        metric: Outcome = "nps",
        driver: Driver = "handle_time",
        bands: Text = None,
        tz: Text = None,
        since: Time = None,
        until: Time = None,
        min_n: MinN = None,
    ) -> DriverResult:
        try:
            cuts = tuple(float(b) for b in (bands or "").split(",") if b.strip())
        except ValueError:
            raise InvalidInput.on("bands", "expected minutes separated by commas, e.g. 3,6,10") from None
        zone = parse_tz(tz)
        query = DriversQuery(
            metric=metric or "nps",
            driver=driver or "handle_time",
            bands=cuts,
            tz=zone,
            since=parse_time(since, "since"),
            until=parse_time(until, "until"),
            filters=filters,
            min_n=min_n or ctx.settings.metrics_min_n,
        )
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return read_drivers(session, caller, query)

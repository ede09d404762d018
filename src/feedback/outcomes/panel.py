"""The dashboard section "Does satisfaction pay?": outcome by score band, the adjusted effect, coverage.

One row per band (``group``, ``n``, ``value``, ``low``, ``high``) and one per compared difference
(naive, adjusted); the notes say the verdict, the coverage, the smallest detectable effect and what the
figures cannot show.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy.orm import Session

from feedback.analysis.outcomes import OUTCOMES
from feedback.outcomes.report import PaysReport, satisfaction_pays

SCHEMA = {
    "group": pl.String,
    "kind": pl.String,
    "n": pl.Int64,
    "value": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
}
CAVEAT = (
    "An association in your own customers' rows, after the controls (prior orders and spend, tenure); "
    "not proof of cause: anything else that moves both the score and what customers do next stays in it."
)


def report_rows(report: PaysReport) -> tuple[pl.DataFrame, list[str]]:
    """The section's rows and notes for one report."""
    rows = [(b.band, "band", b.n, b.value, b.low, b.high) for b in report.bands]
    notes: list[str] = []
    cov = report.coverage
    label = OUTCOMES[report.outcome]
    unit = " pp" if report.outcome in ("repeat_purchase", "renewal", "churn") else ""
    effect = report.effect
    if effect is not None:
        top, bottom = ",".join(map(str, report.top)), ",".join(map(str, report.bottom))
        for name, estimate in (("naive", effect.naive), ("adjusted", effect.adjusted)):
            if estimate is not None:
                n = effect.n_top + effect.n_bottom
                rows.append(
                    (
                        f"{top} minus {bottom} ({name})",
                        "difference",
                        n,
                        estimate.value,
                        estimate.low,
                        estimate.high,
                    )
                )
        a = effect.adjusted
        if a is not None:
            notes.append(
                f"Verdict: {effect.verdict}. Customers scoring {top} {label} within "
                f"{report.horizon_days} days: "
                f"{a.value:+.2f}{unit} against {bottom} [{a.low:+.2f}, {a.high:+.2f}], adjusted; "
                f"the smallest difference these rows could detect: {effect.mde or 0:.2f}{unit}."
            )
        else:
            notes.append(f"Verdict: {effect.verdict}.")
        notes += effect.notes
    else:
        notes.append(
            "Verdict: too little data (no outcome events, or no scored responses of known customers)."
        )
    if report.as_of is None:
        notes.append("Coverage: no outcome events yet (import orders, renewals or cancellations to see it).")
    else:
        notes.append(
            f"Coverage: {cov.responses:,} responses of known customers up to the last outcome event "
            f"({report.as_of:%Y-%m-%d}); {cov.linked:,} linked to outcome events; "
            f"{cov.complete:,} with a complete {report.horizon_days}-day horizon."
        )
    notes.append(
        "All responses of known customers, whatever the page's filters; later ones count once outcome "
        "events after them are imported."
    )
    notes.append(CAVEAT)
    return pl.DataFrame(rows, schema=SCHEMA, orient="row"), notes


def outcomes_section(session: Session) -> tuple[pl.DataFrame, list[str]]:
    """Does satisfaction pay? With the defaults: CSAT 4-5 against 1-2, bought again within 90 days."""
    return report_rows(satisfaction_pays(session.get_bind(), scale="csat", outcome="repeat_purchase"))  # type: ignore[arg-type]

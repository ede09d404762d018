"""Which feedback counts as negative.

This is the one place that decides. Today it is a rule: a low score (NPS 0-6, CSAT 1-2, CES 1-3) when the
item has any score, and TextBlob polarity below 0 for text without a score (a mention). A learned
dissatisfaction model can replace :func:`negative_mask` without changing its callers.
"""

from __future__ import annotations

import polars as pl

NPS_LOW = 6  # detractors: 0-6
CSAT_LOW = 2  # 1-2 on 1-5
CES_LOW = 3  # 1-3 on 1-7 ("the company made it easy": low is hard)


def negative_mask(items: pl.DataFrame) -> pl.Series:
    """True for each negative row of ``items`` (columns nps, csat, ces, polarity; nulls allowed)."""
    nps, csat, ces, polarity = (pl.col(c) for c in ("nps", "csat", "ces", "polarity"))
    has_score = nps.is_not_null() | csat.is_not_null() | ces.is_not_null()
    low_score = (
        (nps <= NPS_LOW).fill_null(False)
        | (csat <= CSAT_LOW).fill_null(False)
        | (ces <= CES_LOW).fill_null(False)
    )
    negative_text = (polarity < 0).fill_null(False)
    return items.select(
        pl.when(has_score).then(low_score).otherwise(negative_text).alias("negative")
    ).to_series()


def is_negative(
    nps: int | None = None, csat: int | None = None, ces: int | None = None, polarity: float | None = None
) -> bool:
    """The same rule for one item."""
    frame = pl.DataFrame(
        {"nps": [nps], "csat": [csat], "ces": [ces], "polarity": [polarity]},
        schema={"nps": pl.Int64, "csat": pl.Int64, "ces": pl.Int64, "polarity": pl.Float64},
    )
    return bool(negative_mask(frame)[0])

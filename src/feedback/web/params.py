"""Query parameter types shared by the API handlers: what the OpenAPI schema declares is what is accepted."""

import re
from collections.abc import Iterable
from typing import Annotated

from litestar.params import QueryParameter

from feedback.metrics.service import TIME_RULE
from feedback.specs import TIME_PATTERN

MAX_ROW_ID = 2**31 - 1  # integer ids (PostgreSQL ``integer``) never exceed this; larger ones cannot be sent
RowId = Annotated[int | None, QueryParameter(required=False, ge=1, le=MAX_ROW_ID)]

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


# A department named by its slug; an empty value is no department, so it is refused, not "all".
DepartmentSlug = Annotated[
    str | None,
    QueryParameter(required=False, min_length=1, max_length=64, pattern=SLUG_PATTERN),
]
Time = Annotated[
    str | None,
    QueryParameter(required=False, max_length=40, pattern=TIME_PATTERN, description=TIME_RULE),
]


def choices_pattern(choices: Iterable[str]) -> str:
    """A comma-separated list of ``choices`` (at least one), as a regular expression for the schema."""
    one = "|".join(re.escape(c) for c in choices)
    return rf"^(?:{one})(?:,(?:{one}))*$"

"""Query parameter types shared by the API handlers."""

from typing import Annotated

from litestar.params import QueryParameter

from feedback.services.metrics import TIME_RULE

MAX_ROW_ID = 2**31 - 1  # integer ids (PostgreSQL ``integer``) never exceed this; larger ones cannot be sent
RowId = Annotated[int | None, QueryParameter(required=False, ge=1, le=MAX_ROW_ID)]

# Every point in time in a query: parsed by services.metrics.parse_time (a bad one is a 422 naming it).
TimeText = Annotated[str | None, QueryParameter(required=False, max_length=64, description=TIME_RULE)]

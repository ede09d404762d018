"""Query parameter types shared by the API handlers."""

from typing import Annotated

from litestar.params import QueryParameter

MAX_ROW_ID = 2**31 - 1  # integer ids (PostgreSQL ``integer``) never exceed this; larger ones cannot be sent
RowId = Annotated[int | None, QueryParameter(required=False, ge=1, le=MAX_ROW_ID)]

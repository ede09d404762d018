"""The product's app with two routes that do no work, served exactly as `feedback serve` serves it.

They are the baselines the submission benchmark compares with, through the same uvicorn, middleware and
process: GET /bench/hello answers a constant; POST /bench/echo decodes a JSON body (msgspec, as every
route does) and sends it back. A bench application, never part of the product.

    python bench/bench_app.py 127.0.0.1 8000 [WORKERS]    # with the environment `feedback serve` would have
"""

from __future__ import annotations

import sys
from typing import Any

from litestar import Litestar, get, post

from feedback.cli import server
from feedback.web.app import create_app


@get("/bench/hello", sync_to_thread=False)
def hello() -> str:
    return "hello"


@post("/bench/echo", status_code=200, sync_to_thread=False, exclude_from_csrf=True)
def echo(data: dict[str, Any]) -> dict[str, Any]:
    return data


def create_bench_app() -> Litestar:
    app = create_app()
    app.register(hello)
    app.register(echo)
    return app


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    # Each worker process imports the factory by name (this script's directory is on their sys.path).
    server._serve(host, port, workers, app="bench_app:create_bench_app")

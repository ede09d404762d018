"""One scheduler's run loop on a simulated clock, as a process of its own (for the two-scheduler test).

    python -m tests.digests.run_loop DATABASE_URL SMTP_PORT START_ISO HOURS STEP_MIN BARRIER_DIR NAME PEERS

Calls the service the scheduler's jobs call, ``schedule.tick(now)``, for each simulated step. Processes that
share a clock see the same time: here every process ticks step i with the same ``now``, concurrently, and
waits at a barrier (a file per process and step in BARRIER_DIR) until all PEERS have finished step i.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta

from feedback.db import make_engine, make_sessionmaker
from feedback.digests import schedule
from tests.digests.data import settings_for


def barrier(directory: str, name: str, peers: list[str], step: int) -> None:
    open(os.path.join(directory, f"{name}.{step}"), "w").close()
    while not all(os.path.exists(os.path.join(directory, f"{peer}.{step}")) for peer in peers):
        time.sleep(0.005)


def main() -> None:
    url, port, start, hours, step, directory, name, peers = sys.argv[1:9]
    settings = settings_for(url, int(port))
    sessions = make_sessionmaker(make_engine(url))
    now, end = datetime.fromisoformat(start), datetime.fromisoformat(start) + timedelta(hours=float(hours))
    number = 0
    barrier(directory, name, peers.split(","), number)  # start together
    while now < end:
        schedule.tick(sessions, settings, now)
        number += 1
        barrier(directory, name, peers.split(","), number)
        now += timedelta(minutes=float(step))
    print("done", flush=True)


if __name__ == "__main__":
    main()

"""The one test-only hook: a named point where a process can be made to stop, so that a test kills it there.

With FEEDBACK_TEST_PAUSE_AT=<name>, :func:`pause_point` of that name prints ``paused at <name>`` on stderr and
sleeps until the process is killed (tests/faults kill it with SIGKILL, then run the command again). Unset, as
everywhere but in those tests, it does nothing. Points: ``analyze.write`` (inside the transaction writing a
run's results), ``digest.claimed`` (a delivery claimed, not sent yet), ``digest.sent`` (the SMTP server took
the message, its outcome not recorded yet).
"""

from __future__ import annotations

import os
import sys
import time

VARIABLE = "FEEDBACK_TEST_PAUSE_AT"


def pause_point(name: str) -> None:
    if os.environ.get(VARIABLE) != name:
        return
    sys.stderr.write(f"paused at {name}\n")
    sys.stderr.flush()
    while True:
        time.sleep(3600)

"""Personal identifiers out of free text for readers who may not see them.

``redact_personal`` is :func:`feedback.analysis.redact.redact` (e-mails, phones, cards, IBANs, IPs) plus
social-media handles (``@jane_doe`` -> ``[handle]``). Names written in prose are not found: no offline
name recogniser is reliable enough to promise it. A pure function: no I/O.
"""

from __future__ import annotations

import re

from feedback.analysis.redact import redact

HANDLE = re.compile(
    r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?"
)


def redact_personal(text: str) -> str:
    """``text`` without e-mails, phones, card numbers, IBANs, IP addresses and @handles."""
    return HANDLE.sub("[handle]", redact(text))

"""Customers' words copied elsewhere: cause verbatims, digests and alerts (content, HTML, text, Slack JSON).

Digests and alerts quote a text flattened, redacted and cut to 300 characters (digests/); cause
verbatims quote it as written. ``quote_forms`` lists every form one text can take there, and the scrubbers
replace each quoted occurrence with ``[quote removed]`` (HTML ``&ldquo;..&rdquo;``, text ``"..."``, Slack
``> ..`` lines) and drop it from JSON lists, leaving the numbers around it untouched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from markupsafe import escape

from feedback.analysis.redact import redact

REMOVED = "[quote removed]"
QUOTE_CHARS = 300  # digests/: VERBATIM_CHARS and the alerts' cut
HTML_QUOTE = re.compile(r"&ldquo;(.*?)&rdquo;</blockquote>", re.DOTALL)


def quote_forms(text: str) -> set[str]:
    """Every form in which ``text`` may be quoted by causes, digests and alerts."""
    flat = " ".join(text.split())
    clean = redact(flat)
    forms = {text, flat, clean, clean[:QUOTE_CHARS]}
    if len(clean) > QUOTE_CHARS:
        forms.add(clean[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…")
    return {f for f in forms if f.strip()}


def all_forms(texts: Iterable[str]) -> set[str]:
    return {form for text in texts for form in quote_forms(text)}


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def scrub_text(value: str, forms: set[str]) -> str:
    """``value`` (HTML, plain text or Slack mrkdwn) with every quoted form replaced."""
    for form in sorted(forms, key=len, reverse=True):
        if form not in value and str(escape(form)) not in value and _mrkdwn(form) not in value:
            continue
        value = value.replace(f"&ldquo;{escape(form)}&rdquo;", REMOVED)
        value = value.replace(f'"{form}"', REMOVED)
        value = re.sub(rf"(?m)^> {re.escape(_mrkdwn(form))}$", f"> {REMOVED}", value)
    return value


def scrub_json(value: Any, forms: set[str]) -> Any:
    """A JSON value with quoted forms dropped from lists and replaced inside strings."""
    if isinstance(value, dict):
        return {k: scrub_json(v, forms) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, forms) for v in value if not (isinstance(v, str) and v in forms)]
    if isinstance(value, str):
        return REMOVED if value in forms else scrub_text(value, forms)
    return value


def quoted_in_json(value: Any, key: str = "verbatims") -> set[str]:
    """Every string in a list under ``key`` anywhere in a JSON value (a digest's quotes)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, list):
                found.update(s for s in v if isinstance(s, str))
            else:
                found |= quoted_in_json(v, key)
    elif isinstance(value, list):
        for v in value:
            found |= quoted_in_json(v, key)
    return found


def quoted_in_html(value: str | None) -> set[str]:
    """The quotes in a rendered digest or alert (its blockquotes), unescaped."""
    return {html.unescape(q) for q in HTML_QUOTE.findall(value or "") if q != REMOVED}

"""Public survey forms against bots: a honeypot field, and a signed time stamp (too fast to be human).

Every public form carries ``form_stamp`` = "<Unix ms when shown>.<HMAC>", signed with a key derived for
this purpose and bound to the survey's public key, and ``hp_leave_empty``, a field hidden from people and
screen readers. What happens to a POST:

- honeypot filled: nothing is stored, and the sender sees the thank-you page (a bot learns nothing);
- sent sooner than FEEDBACK_FORM_MIN_SECONDS after the form was shown: nothing is stored; the form is shown
  again (422) with the answers kept and a polite request to check and send them again. The stamp is kept,
  so a person who was merely quick succeeds with the next click;
- no stamp, a forged one, one for another survey, or one older than FEEDBACK_FORM_MAX_AGE_S: the same, with
  a fresh stamp.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from feedback.config import Settings
from feedback.i18n import N_
from feedback.keys import derive_key

STAMP_FIELD = "form_stamp"
HONEYPOT_FIELD = "hp_leave_empty"
FIELDS = frozenset({STAMP_FIELD, HONEYPOT_FIELD})
CLOCK_SKEW_S = 5.0  # a stamp from a worker whose clock runs slightly ahead is still accepted

TOO_FAST = N_("That was quick! To keep automated spam out, please check your answers and send them again.")
STALE = N_("This page was open for a long time. Please check your answers and send them again.")


class Verdict(Enum):
    OK = "ok"
    HONEYPOT = "honeypot"  # store nothing, say thank you
    TOO_FAST = "too_fast"  # store nothing, show the form again (same stamp)
    STALE = "stale"  # store nothing, show the form again (new stamp)


@dataclass(frozen=True)
class FormCheck:
    verdict: Verdict
    stamp: str  # what the form carries if it is shown again

    @property
    def notice(self) -> str:
        return TOO_FAST if self.verdict is Verdict.TOO_FAST else STALE


class FormGuard:
    def __init__(self, settings: Settings) -> None:
        self._key = derive_key(settings, "survey-form-stamp")
        self.min_seconds = settings.form_min_seconds
        self.max_age_s = settings.form_max_age_s

    def _sign(self, survey_key: str, millis: int) -> str:
        mac = hmac.new(self._key, f"{survey_key}\0{millis}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def issue(self, survey_key: str, now: float | None = None) -> str:
        millis = int((time.time() if now is None else now) * 1000)
        return f"{millis}.{self._sign(survey_key, millis)}"

    def shown_at(self, survey_key: str, stamp: str) -> float | None:
        """When the form with this stamp was shown (Unix seconds), or None for a stamp we did not sign."""
        millis, _, mac = stamp.partition(".")
        if not millis.isdigit() or len(millis) > 15:
            return None
        if not hmac.compare_digest(mac.encode(), self._sign(survey_key, int(millis)).encode()):
            return None
        return int(millis) / 1000

    def check(self, survey_key: str, form: Mapping[str, str], now: float | None = None) -> FormCheck:
        now = time.time() if now is None else now
        stamp = form.get(STAMP_FIELD, "")
        if form.get(HONEYPOT_FIELD, ""):
            return FormCheck(Verdict.HONEYPOT, stamp)
        shown = self.shown_at(survey_key, stamp)
        if shown is None or now - shown > self.max_age_s or shown - now > CLOCK_SKEW_S:
            return FormCheck(Verdict.STALE, self.issue(survey_key, now))
        if now - shown < self.min_seconds:
            return FormCheck(Verdict.TOO_FAST, stamp)
        return FormCheck(Verdict.OK, stamp)

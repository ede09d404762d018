"""Languages of the customer's pages: the message catalogues (Babel/gettext) and choosing a language.

Fixed strings are marked ``_("...")`` in templates and code and live in ``locale/<lang>/LC_MESSAGES/
messages.po``; the compiled ``.mo`` files ship in the package. After changing a marked string:

    pybabel extract -F babel.cfg -o src/feedback/locale/messages.pot .
    pybabel update -i src/feedback/locale/messages.pot -d src/feedback/locale
    pybabel compile -d src/feedback/locale          # (tests/surveys/test_languages.py checks all three)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any, Protocol

from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"  # the language of the msgids
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark for translation, translate later")
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message


class Gettext(Protocol):
    def __call__(self, message: str, **values: Any) -> str: ...


def catalogue_languages() -> list[str]:
    """Languages whose fixed strings are translated (English, the source, always)."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.mo")}
    return sorted(found | {SOURCE_LANGUAGE})


@cache
def _catalogue(language: str) -> NullTranslations:
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language.replace("-", "_")])


def gettext_for(language: str) -> Gettext:
    """``_`` for one language: the translated string, with ``%(name)s`` filled from keyword arguments."""
    catalogue = _catalogue(language)

    def _(message: str, **values: Any) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text

    return _


def accepted(header: str) -> list[str]:
    """The languages of an Accept-Language header, most preferred first (q=0 left out)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


def best_match(wanted: Iterable[str], offered: Sequence[str]) -> str | None:
    """The first wanted language that is offered, exactly or by its primary subtag (pt-BR -> pt)."""
    lowered = {o.lower(): o for o in offered}
    for tag in wanted:
        tag = tag.lower()
        for candidate in (tag, tag.split("-")[0]):
            if candidate in lowered:
                return lowered[candidate]
        for offer in offered:
            if offer.lower().split("-")[0] == tag.split("-")[0]:
                return offer
    return None


def choose_language(
    offered: Sequence[str], default: str, invitation: str | None, accept_language: str
) -> str:
    """The language of a survey page: the invitation's, else the browser's best, else the survey's default."""
    if invitation:
        match = best_match([invitation], offered)
        if match:
            return match
    return best_match(accepted(accept_language), offered) or default

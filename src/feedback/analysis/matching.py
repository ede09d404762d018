"""Which product, brand and owning department a post is about, by keyword and regex rules.

Rules are tried in order and the first that matches wins. A keyword matches as a whole word or phrase,
ignoring case ("app" does not match "happy"); a pattern is a regular expression searched in the text,
ignoring case. Rules see the normalized text and, when the source named one, the source's product.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    product: str | None = None
    brand: str | None = None
    department: str | None = None  # a department's slug
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        phrases = [r"\s+".join(re.escape(word) for word in k.split()) for k in self.keywords if k.strip()]
        parts = [rf"(?<!\w){phrase}(?!\w)" for phrase in phrases]
        parts += [f"(?:{p})" for p in self.patterns]
        if not parts:
            raise ValueError("a rule needs at least one keyword or pattern")
        object.__setattr__(self, "_regex", re.compile("|".join(parts), re.IGNORECASE))

    def matches(self, text: str) -> bool:
        return self._regex.search(text) is not None


@dataclass(frozen=True)
class Match:
    product: str | None
    brand: str | None
    department: str | None


class Matcher:
    """First matching rule's product, brand and department."""

    def __init__(self, rules: Sequence[Rule] = ()) -> None:
        self.rules = tuple(rules)

    def match(self, text_norm: str, product: str | None = None) -> Match | None:
        if not self.rules:
            return None
        text = f"{product}\n{text_norm}" if product else text_norm
        for rule in self.rules:
            if rule.matches(text):
                return Match(rule.product, rule.brand, rule.department)
        return None

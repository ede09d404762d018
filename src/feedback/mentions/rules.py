"""The keyword/brand rules file, and everything else an ingest needs from the settings.

A rules file (FEEDBACK_MENTION_RULES_FILE) is TOML; rules are tried in order, the first match wins:

    [[rules]]
    product = "Mobile app"            # what the post is about (optional)
    brand = "Acme"                    # optional
    department = "support"            # the owning department's slug (optional; must exist)
    keywords = ["acme app", "app"]    # whole words or phrases, any case
    patterns = ['\\bcrash(es|ed)?\\b']  # regular expressions, any case
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec

from feedback.analysis.matching import Matcher, Rule
from feedback.analysis.noise import NoiseRules
from feedback.config import Settings
from feedback.errors import FieldError, InvalidInput
from feedback.mentions.prepare import Preparer, canonical_source
from feedback.mentions.store import Target
from feedback.specs import convert


class RuleIn(msgspec.Struct, forbid_unknown_fields=True):
    keywords: list[str] = []
    patterns: list[str] = []
    product: str | None = None
    brand: str | None = None
    department: str | None = None


class RulesFileIn(msgspec.Struct, forbid_unknown_fields=True):
    rules: list[RuleIn] = []


def parse_rules(data: Any) -> Matcher:
    """A Matcher from the rules file's contents; errors name the rule: ``rules[2].patterns``."""
    spec = convert(data, RulesFileIn)
    rules: list[Rule] = []
    errors: list[FieldError] = []
    for i, item in enumerate(spec.rules):
        for pattern in item.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                errors.append(
                    FieldError(f"rules[{i}].patterns", f"not a regular expression: {pattern!r}: {exc}")
                )
        if not any(k.strip() for k in item.keywords) and not item.patterns:
            errors.append(FieldError(f"rules[{i}]", "needs at least one keyword or pattern"))
        if not errors:
            rules.append(
                Rule(tuple(item.keywords), tuple(item.patterns), item.product, item.brand, item.department)
            )
    if errors:
        raise InvalidInput.of(errors)
    return Matcher(rules)


@lru_cache(maxsize=8)
def _load(path: str, _mtime_ns: int) -> Matcher:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput.on(path, f"not valid TOML: {exc}") from exc
    try:
        return parse_rules(data)
    except InvalidInput as exc:
        exc.message = f"{path}: {exc.message}"
        raise


def load_matcher(path: str | Path | None) -> Matcher:
    """The rules in ``path`` (read again when the file changes); no path, no rules."""
    if not path:
        return Matcher()
    file = Path(path)
    if not file.is_file():
        raise InvalidInput.on("mention rules", f"no such file: {file}")
    return _load(str(file), file.stat().st_mtime_ns)


@dataclass(frozen=True)
class IngestOptions:
    """What turns raw mentions into rows, whatever the way in."""

    matcher: Matcher
    noise: NoiseRules
    max_text_chars: int
    copypasta_accounts: int

    @classmethod
    def from_settings(cls, settings: Settings, rules_file: str | Path | None = None) -> IngestOptions:
        noise = NoiseRules(settings.mention_min_words, settings.mention_copypasta_accounts)
        matcher = load_matcher(rules_file or settings.mention_rules_file)
        return cls(matcher, noise, settings.mention_max_text_chars, settings.mention_copypasta_accounts)

    def preparer(self, source: str, via: str, received_at: datetime, target: Target) -> Preparer:
        """The preparer for one batch or file, for the database ``target`` describes."""
        return Preparer(
            canonical_source(source),
            via,
            received_at,
            self.matcher,
            self.noise,
            self.max_text_chars,
            target.departments,
            target.time_style,
        )

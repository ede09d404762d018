"""Which posts are noise rather than a customer's own words. Flagged, never dropped.

Rules, in order (the first that applies names the flag):
  repost      someone else's post passed on: a reblog, a retweet ("RT @name: ..."), a share
  link_only   nothing but links, handles and hashtags-made-words... no words of its own
  short       fewer than ``min_words`` words (links and handles not counted): "lol", "ok thanks"
  copypasta   the same words (same text_hash) from ``copypasta_accounts`` or more distinct accounts;
              this one needs the other stored mentions, so the store applies it (see
              feedback.mentions.store), to every copy once the threshold is reached
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from feedback.analysis.text import URL_TOKEN, content_words


class Noise(StrEnum):
    REPOST = "repost"
    LINK_ONLY = "link_only"
    SHORT = "short"
    COPYPASTA = "copypasta"


@dataclass(frozen=True)
class NoiseRules:
    min_words: int = 3  # fewer words than this: "short" (0 disables)
    copypasta_accounts: int = 3  # this many distinct authors with the same words: "copypasta" (0 disables)


def classify(
    text_norm: str, *, repost: bool, rules: NoiseRules, words: list[str] | None = None
) -> Noise | None:
    """The flag for one post on its own (every rule but copypasta), or None for a post worth reading.
    ``words``: the text's content_words, when they are at hand already."""
    if repost:
        return Noise.REPOST
    if words is None:
        words = content_words(text_norm)
    if not words and URL_TOKEN in text_norm:
        return Noise.LINK_ONLY
    if len(words) < rules.min_words:
        return Noise.SHORT
    return None

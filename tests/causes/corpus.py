"""Small synthetic feedback written for these tests: a few causes, each phrased many ways."""

from __future__ import annotations

import itertools
import random

TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "late": (
        ["my parcel arrived {n} days late", "the delivery was late again, {n} days after the promised date",
         "late delivery: the parcel came {n} days too late", "still waiting, the parcel is {n} days late",
         "delivery late by {n} days and no tracking update"],
        ["two", "three", "four", "five", "six", "seven", "eight", "nine"],
    ),
    "charge": (
        ["you charged my card twice for order {n}", "double charge on my card for order {n}",
         "my card was charged two times for order {n}",
         "charged twice for the same order {n}, refund the duplicate",
         "duplicate charge on my credit card statement for order {n}"],
        ["1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008"],
    ),
    "crash": (
        ["the app crashes when I log in on my {n}", "app keeps crashing at the login screen on {n}",
         "login makes the app crash on my {n}", "after the update the app crashes on {n} at login",
         "cannot log in, the app crashes every time on {n}"],
        ["phone", "tablet", "iphone", "android", "laptop", "ipad", "pixel", "galaxy"],
    ),
    "rude": (
        ["the agent on the phone was rude and hung up on me {n}", "rude agent, he shouted at me {n}",
         "the support agent was very rude to me {n}", "agent was rude and unhelpful {n}",
         "such a rude agent on the hotline {n}"],
        ["today", "yesterday", "this morning", "last night", "on monday", "on friday", "again", "twice"],
    ),
}  # fmt: skip


def texts(topic: str, count: int, offset: int = 0) -> list[str]:
    """``count`` distinct phrasings of ``topic`` (deterministic; ``offset`` gives other ones)."""
    templates, fills = TOPICS[topic]
    combos = list(itertools.product(templates, fills))
    random.Random(topic).shuffle(combos)
    picked = combos[offset : offset + count]
    assert len(picked) == count, "not enough phrasings"
    return [template.format(n=fill) for template, fill in picked]


def labelled(counts: dict[str, int], offset: int = 0) -> list[tuple[str, str]]:
    """(topic, text) pairs, topics in the given order."""
    return [(topic, text) for topic, n in counts.items() for text in texts(topic, n, offset)]

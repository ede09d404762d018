"""A small made-up corpus of scored comments (no real data is copied into code)."""

from __future__ import annotations

import random

UNHAPPY = [
    "the agent was rude",
    "I waited for hours",
    "still no refund",
    "the parcel arrived broken",
    "nobody called me back",
    "the problem is not fixed",
    "I was charged twice",
    "they hung up on me",
]
HAPPY = [
    "the agent was lovely",
    "quick and easy",
    "my refund came fast",
    "solved on the first call",
    "friendly and patient help",
    "delivery was on time",
    "clear explanation",
    "they called back as promised",
]
FILLER = ["today", "about my order", "with my account", "on the phone", "by email", "this week"]


def comments(n: int, seed: int = 7) -> list[tuple[str, int]]:
    """(comment, NPS) pairs: unhappy phrases with 0-6, happy ones with 9-10."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        unhappy = i % 3 == 0
        words = UNHAPPY if unhappy else HAPPY
        text = f"{rng.choice(words).capitalize()} {rng.choice(FILLER)}, and {rng.choice(words)}."
        out.append((text, rng.randint(0, 6) if unhappy else rng.randint(9, 10)))
    return out

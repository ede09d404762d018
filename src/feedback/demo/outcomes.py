"""The demo company's orders and renewals: customers who were satisfied do come back and buy more.

For every answered invitation with a CSAT score: the customer's earlier orders (0-3, before the
interaction), and within 90 days after answering another order with a chance that is 12 points higher
for a satisfied customer (4-5) than for the others, a little higher still for loyal customers; some
customers renew their membership, dissatisfied ones cancel more often. Only what happened by ``now``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from feedback.demo.seed import DemoData
from feedback.outcomes.events import Event, dedup_key

SOURCE = "demo-shop"


def _event(customer_id: str, at: datetime, kind: str, amount: float | None, reference: str) -> Event:
    key = dedup_key(SOURCE, customer_id, at, kind, amount, reference)
    return Event(key, SOURCE, customer_id, at, kind, amount, "EUR" if amount is not None else None, reference)


def plan_outcomes(data: DemoData, now: datetime, seed: int = 20) -> list[Event]:
    """The demo's outcome events (see the module's docstring)."""
    rng = random.Random(seed)
    events: list[Event] = []
    for i, response in enumerate(data.responses):
        csat = response.answers.get("csat")
        if response.invitation is None or not isinstance(csat, int):
            continue
        customer = data.invitations[response.invitation].customer_id
        prior = rng.choice((0, 0, 1, 1, 2, 3))
        for k in range(prior):
            at = response.submitted_at - timedelta(days=rng.uniform(20, 400))
            events.append(_event(customer, at, "order", round(rng.gammavariate(3, 20), 2), f"o-{i}-p{k}"))
        satisfied = csat >= 4
        if rng.random() < 0.15 + 0.12 * satisfied + 0.04 * prior:
            at = response.submitted_at + timedelta(days=rng.uniform(1, 89))
            if at <= now:
                events.append(_event(customer, at, "order", round(rng.gammavariate(3, 22), 2), f"o-{i}-a"))
        if rng.random() < 0.10:
            kind = "cancellation" if rng.random() < (0.15 if satisfied else 0.45) else "renewal"
            at = response.submitted_at + timedelta(days=rng.uniform(5, 80))
            if at <= now:
                events.append(_event(customer, at, kind, 49.0 if kind == "renewal" else None, f"m-{i}"))
    return events

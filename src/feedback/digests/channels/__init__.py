"""How a message is sent: e-mail over SMTP (email.py) and signed JSON webhooks (webhook.py).

Both raise DeliveryError; ``permanent`` says whether trying again can help (a refused recipient, a 404, a
missing secret) or not (a server that is down, a timeout, a 503), so the outbox retries only what may work.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """A message was not delivered. ``permanent``: no retry can fix it."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent

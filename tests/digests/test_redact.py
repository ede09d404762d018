"""Personal data is taken out of verbatims before they are sent anywhere (analysis/redact.py)."""

from __future__ import annotations

import pytest

from feedback.analysis.redact import iban_valid, luhn_valid, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+orders@mail.example.co.uk today", "write to [email] today"),
        ("my card 4111 1111 1111 1111 was charged twice", "my card [card] was charged twice"),
        ("card 5500-0000-0000-0004 again", "card [card] again"),
        ("call +49 30 12345678 or 0171 2345678.", "call [phone] or [phone]."),
        ("US number (555) 123-4567 or 555-123-4567", "US number [phone] or [phone]"),
        ("ring 02079460958 any time", "ring [phone] any time"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
        ("from 192.168.10.20 it fails", "from [ip] it fails"),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 12345678 arrived on 2026-11-23 at 10.30, cost 1,299.00 EUR",
        "I waited 45 minutes and called 3 times; ticket #4455667",
        "a 16-digit number that is not a card: 4111 1111 1111 1112",
        "tracking 1Z999AA10123456784 and version 1.2.3",
        "not an IBAN: DE00 1234 5678 9012 3456 78",
    ],
)
def test_what_identifies_no_one_stays(text: str) -> None:
    assert redact(text) == text


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("12ab")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")

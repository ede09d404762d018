"""Redaction, shape by shape: each shape of personal data people write, placed inside a sentence, comes back
as its placeholder; ordinary text (order numbers, prices, dates, times) comes back unchanged.

The values are made up for these tests (none is a real person's).
"""

from __future__ import annotations

import pytest

from feedback.analysis.redact import redact

SHAPES: list[tuple[str, str]] = [
    # e-mail addresses, international and obfuscated
    ("jörg.piivictim@müller.de", "[email]"),
    ("jane.doe+orders@mail.example.co.uk", "[email]"),
    ("o'brien@example.ie", "[email]"),
    ("José.García@correo.example.es", "[email]"),
    ("иван.петров@пример.рф", "[email]"),
    ("用户@例子.广告", "[email]"),
    ("user@xn--mller-kva.de", "[email]"),
    ("first_last@sub.domain.example.museum", "[email]"),
    ("x AT example DOT org", "[email]"),
    ("jane [at] example [dot] com", "[email]"),
    ("jane(at)example(dot)de", "[email]"),
    ("jane at example dot com", "[email]"),
    ("jane {at} mail {dot} example {dot} co {dot} uk", "[email]"),
    ("jane [AT] example.org", "[email]"),
    ("jane @ example DOT net", "[email]"),
    ("jane AT example.org", "[email]"),
    # phone numbers, international and in national formats
    ("030/98765432", "[phone]"),
    ("0171/2345678", "[phone]"),
    ("+49 30 12345678", "[phone]"),
    ("+49 (0)30 1234567", "[phone]"),
    ("0171 2345678", "[phone]"),
    ("089 1234567", "[phone]"),
    ("0800 123 4567", "[phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("020 7946 0958", "[phone]"),
    ("02079460958", "[phone]"),
    ("+33 6 12 34 56 78", "[phone]"),
    ("06 12 34 56 78", "[phone]"),
    ("(212) 555-0147", "[phone]"),
    ("212-555-0147", "[phone]"),
    ("212.555.0147", "[phone]"),
    ("+1 415 555 2671", "[phone]"),
    ("123-4567", "[phone]"),
    ("0043 1 234 5678", "[phone]"),
    ("+91 98765 43210", "[phone]"),
    ("+81 3-1234-5678", "[phone]"),
    ("03-1234-5678", "[phone]"),
    ("(02) 9876 5432", "[phone]"),
    ("+7 495 123-45-67", "[phone]"),
    ("+55 11 91234-5678", "[phone]"),
    ("+31 20 123 4567", "[phone]"),
    ("+39 06 1234 5678", "[phone]"),
    # IP addresses
    ("2001:db8::7334", "[ip]"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[ip]"),
    ("fe80::1ff:fe23:4567:890a", "[ip]"),
    ("::ffff:192.0.2.128", "[ip]"),
    ("192.168.10.20", "[ip]"),
    ("203.0.113.7", "[ip]"),
    # profiles and posts on social networks
    ("https://x.com/piivictim/status/1234", "[profile]"),
    ("https://twitter.com/piivictim", "[profile]"),
    ("x.com/piivictim", "[profile]"),
    ("https://mobile.twitter.com/piivictim/status/99", "[profile]"),
    ("https://www.facebook.com/jane.doe.9876", "[profile]"),
    ("https://m.facebook.com/profile.php?id=100012345678", "[profile]"),
    ("https://www.instagram.com/jane_doe/", "[profile]"),
    ("https://instagram.com/p/CxYz123AbC/", "[profile]"),
    ("https://www.linkedin.com/in/jane-doe-4711/", "[profile]"),
    ("https://www.tiktok.com/@janedoe/video/7234567890123456789", "[profile]"),
    ("https://www.reddit.com/user/piivictim", "[profile]"),
    ("https://old.reddit.com/r/acme/comments/abc123/refund_never_came/", "[profile]"),
    ("https://www.youtube.com/@janedoe", "[profile]"),
    ("https://youtu.be/dQw4w9WgXcQ", "[profile]"),
    ("https://mastodon.social/@piivictim", "[profile]"),
    ("https://fosstodon.org/@jane/112233445566778899", "[profile]"),
    ("https://www.threads.net/@jane.doe", "[profile]"),
    ("https://t.me/janedoe", "[profile]"),
    ("https://wa.me/4915112345678", "[profile]"),
    ("https://bsky.app/profile/jane.bsky.social", "[profile]"),
    # handles
    ("@piivictim", "[handle]"),
    ("@jane@mastodon.social", "[handle]"),
    ("u/piivictim", "[handle]"),
    ("/u/piivictim", "[handle]"),
    # payment data
    ("4111 1111 1111 1111", "[card]"),
    ("5500-0000-0000-0004", "[card]"),
    ("DE89 3704 0044 0532 0130 00", "[iban]"),
    ("GB82 WEST 1234 5698 7654 32", "[iban]"),
]

ORDINARY = [
    "order 12345678 arrived on 2026-11-23 at 10.30, cost 1,299.00 EUR",
    "the technician came at 10:30 and left at 12:45:30",
    "ticket #4455667, invoice 123456789, customer no. 7654321",
    "it was 1.299,00 € and the video had 12.500.000 views",
    "dates: 20.11.2026, 11/23/2026, 2026-11-23, 23 Nov 2026",
    "open 10.30-11.45 and 14:00-18:00, Mon-Fri",
    "app version 1.2.3 on iOS 17.4, build 2024.05",
    "I was at amazon.com and at the store, then at home.",
    "tracking 1Z999AA10123456784",
    "a 16-digit number that is not a card: 4111 1111 1111 1112",
    "not an IBAN: DE00 1234 5678 9012 3456 78",
    "the help page https://acme.example/help/refunds/123 explains it",
    "people on r/acme say the same",
    "room 101, floor 3, gate B12, seat 14C",
    "C++ and C# courses at 3pm, rated 4/5, 9 out of 10, 100%",
    "screen 16:9, ratio 4:3, ISO 9001:2015 certified",
    "I paid $49.99 + $5.95 shipping = $55.94",
    "waited 45 minutes and called 3 times",
    "an e-mail@ that is no address, and x.com without a path",
    "I weigh @120 lbs, measurements 38-27-35/135 and 32-24.5-32",
    "built 1930-1940, renovated 2006-2010; paying $ 1000-2000 a month",
    "the rate on my loan is 524.9996 % now",
]


@pytest.mark.parametrize(("shape", "placeholder"), SHAPES, ids=[s for s, _ in SHAPES])
def test_each_shape_is_replaced_inside_text(shape: str, placeholder: str) -> None:
    assert redact(f"Reach me at {shape} please.") == f"Reach me at {placeholder} please."
    assert redact(f"{shape}, thanks") == f"{placeholder}, thanks"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_not_redacted(text: str) -> None:
    assert redact(text) == text


def test_the_corpus_is_broad() -> None:
    assert len(SHAPES) >= 50 and len({p for _, p in SHAPES}) == 7

"""Personal data out of customers' words before they leave the database (digests, alerts, webhooks).

``redact(text)`` replaces what identifies or can be used against a person with a placeholder:

- ``[email]``  e-mail addresses;
- ``[iban]``   IBANs whose check digits are right (ISO 13616, mod 97);
- ``[card]``   payment card numbers: 13-19 digits, spaces or dashes allowed, that pass the Luhn check;
- ``[phone]``  phone numbers: with a ``+``/``00`` country prefix, grouped like a phone number
               (``(030) 1234 5678``, ``555-123-4567``), or 10-15 digits in a row; dates are left alone;
- ``[ip]``     IPv4 addresses.

Digits that fail the checks (an order number, an amount, a date, a 19-digit tracking number that is not a
card) stay as they are: they help the department and identify no one. A pure function: no I/O.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ()./-]{5,}\d(?![\w])")
IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])")
DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
GROUPED = re.compile(r"^(?:\+|00)?\(?\d{1,5}\)?(?:[ .-]\(?\d{2,8}\)?){1,5}$")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 must be 1."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)


def _iban(match: re.Match[str]) -> str:
    return "[iban]" if iban_valid(match.group(0)) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    text = match.group(0).rstrip(" ./-")
    tail = match.group(0)[len(text) :]
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15 or DATE.match(text):
        return match.group(0)
    international = text.startswith(("+", "00"))
    bare = text.isdigit()
    if (
        (international and len(digits) >= 8)
        or (bare and len(digits) >= 10)
        or (not bare and GROUPED.match(text) and len(digits) >= 8)
    ):
        return "[phone]" + tail
    return match.group(0)


def redact(text: str) -> str:
    """``text`` with e-mail addresses, IBANs, card numbers, phone numbers and IP addresses replaced."""
    text = EMAIL.sub("[email]", text)
    text = IBAN.sub(_iban, text)
    text = CARD.sub(_card, text)
    text = IPV4.sub("[ip]", text)
    return PHONE.sub(_phone, text)

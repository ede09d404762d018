"""Personal data out of customers' words before a reader without the right sees them.

``redact(text)`` replaces what identifies or can be used against a person with a placeholder:

- ``[profile]`` links to a person's profile or post on a social network (x.com, twitter.com, facebook,
                instagram, linkedin, tiktok, reddit, youtube, threads, t.me, wa.me, ...), and on any
                Mastodon-style server (``https://host/@user``, ``/@user/123``);
- ``[email]``   e-mail addresses, internationalized ones (``jörg@müller.de``) and obfuscated ones
                (``jane AT example DOT org``, ``jane [at] example [dot] org``, ``jane at example dot com``);
- ``[iban]``    IBANs whose check digits are right (ISO 13616, mod 97);
- ``[card]``    payment card numbers: 13-19 digits, spaces or dashes allowed, that pass the Luhn check;
- ``[ip]``      IPv6 and IPv4 addresses (checked by the standard library's ``ipaddress``);
- ``[phone]``   phone numbers: international (``+``/``00``), any national format that ``phonenumbers``
                (Google's libphonenumber metadata) finds valid in one of PHONE_REGIONS and that is written
                like a phone number (a trunk ``0``, brackets or separators: ``030/98765432``), 10-15 digits
                in a row, grouped numbers (``(555) 123-4567``) and 7-digit local numbers (``123-4567``);
- ``[handle]``  social-media handles: ``@jane_doe``, ``@jane@mastodon.social``, reddit's ``u/jane``.

What identifies no one stays, so the department can act on it: order and ticket numbers written as bare
digits (fewer than 10), amounts and prices, dates, times (``10:30``, ``10.30``), versions, a 16-digit
number that fails the Luhn check, links to the company's own pages, and a subreddit (``r/name``: a
community, not a person). Names written in prose are not found: no offline name recogniser is reliable
enough to promise it. A pure function: no I/O.
"""

from __future__ import annotations

import ipaddress
import re

import phonenumbers

# Regions whose national formats are recognised (numbers written without a country code).
PHONE_REGIONS = (
    "DE", "AT", "CH", "FR", "BE", "NL", "LU", "GB", "IE", "ES", "PT", "IT", "DK", "SE", "NO", "FI",
    "PL", "CZ", "US", "CA", "MX", "BR", "AR", "AU", "NZ", "IN", "JP", "SG", "ZA",
)  # fmt: skip
SOCIAL_HOSTS = (
    "x.com", "twitter.com", "t.co", "facebook.com", "fb.com", "fb.me", "instagram.com", "instagr.am",
    "linkedin.com", "lnkd.in", "tiktok.com", "reddit.com", "redd.it", "youtube.com", "youtu.be",
    "threads.net", "threads.com", "t.me", "telegram.me", "wa.me", "pinterest.com", "snapchat.com",
    "twitch.tv", "bsky.app", "tumblr.com", "medium.com", "github.com", "vk.com", "xing.com", "weibo.com",
)  # fmt: skip

_URL_TAIL = r"[^\s<>\"'`\]\)}]*"
SOCIAL_URL = re.compile(
    r"(?<![\w@.-])(?:https?://)?(?:[\w-]+\.)*(?:"
    + "|".join(re.escape(host) for host in SOCIAL_HOSTS)
    + rf")/{_URL_TAIL}",
    re.IGNORECASE,
)
FEDIVERSE_URL = re.compile(rf"(?<![\w@.-])(?:https?://)?[\w-]+(?:\.[\w-]+)+/@\w[\w.]*{_URL_TAIL}")

_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"  # a domain label, any script
_TLD = r"(?:[^\W\d_]{2,24}|xn--[a-z0-9-]{2,59})"
EMAIL = re.compile(rf"(?<![\w.+'%@-])[\w.+'%-]+@(?:{_LABEL}\.)+{_TLD}(?![\w-])")
_AT = r"(?:\s*[\[({<]\s*(?i:at)\s*[\])}>]\s*|\s+AT\s+|\s+at\s+|\s*@\s*)"
_DOT = r"(?:\s*[\[({<]\s*(?i:dot)\s*[\])}>]\s*|\s+DOT\s+|\s+dot\s+|\.)"
OBFUSCATED_EMAIL = re.compile(rf"(?<![\w.+-])[\w.+-]+(?P<at>{_AT}){_LABEL}(?:(?P<dot>{_DOT}){_LABEL})+")
OBFUSCATED_TLD = re.compile(rf"{_TLD}$")
SPELLED_DOT = re.compile(r"(?i)[\[({<]\s*dot\s*[\])}>]|\sdot\s")
SPELLED_AT_OR_DOT = re.compile(r"(?i:[\[({<]\s*(?:at|dot)\s*[\])}>]|\sdot\s)|\sAT\s")
DIGIT = re.compile(r"\d")

IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IPV6 = re.compile(
    r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)"
)
IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ()./-]{5,}\d(?![\w])")
DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
GROUPED = re.compile(r"^(?:\+|00)?\(?\d{1,5}\)?(?:[ .-]\(?\d{2,8}\)?){1,5}$")
LOCAL_NUMBER = re.compile(r"^\d{3}-\d{4}$")  # 123-4567: a local number without its area code
AMOUNT = re.compile(r"^\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?$")  # 12.500.000 or 1,299,000.00
TIME_RANGE = re.compile(r"^\d{1,2}[.:]\d{2}\s*-\s*\d{1,2}[.:]\d{2}$")  # 10.30-11.45
RANGE = re.compile(r"^(\d{2,4})\s*[-/]\s*(\d{2,4})$")  # 1930-1940, 1000-2000

HANDLE = re.compile(r"(?<![\w@.])@(?=\w*[^\W\d])\w(?:[\w.]*\w)?(?:@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})?")
REDDIT_USER = re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,20}(?![\w/])")


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


def _trailing(url: str) -> tuple[str, str]:
    """A URL without the sentence punctuation that follows it, and that punctuation."""
    core = url.rstrip(".,;:!?")
    return core, url[len(core) :]


def _profile(match: re.Match[str]) -> str:
    core, tail = _trailing(match.group(0))
    return "[profile]" + tail if core.rstrip("/").count("/") > core.count("//") else match.group(0)


def _obfuscated_email(match: re.Match[str]) -> str:
    text, at = match.group(0), match.group("at").strip()
    spelled_dot = SPELLED_DOT.search(text, match.end("at") - match.start()) is not None
    # "I was at amazon.com" is prose, a plain address is EMAIL's: a plain "at" or "@" needs a spelled-out
    # dot ("jane at example dot com"); "AT" and "[at]" are obfuscation enough ("jane [at] example.com").
    if not OBFUSCATED_TLD.search(text) or (at in ("at", "@") and not spelled_dot):
        return text
    return "[email]"


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)


def _iban(match: re.Match[str]) -> str:
    return "[iban]" if iban_valid(match.group(0)) else match.group(0)


def _ip(match: re.Match[str]) -> str:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[ip]"


def _valid_somewhere(text: str) -> bool:
    """Whether libphonenumber finds ``text`` a valid number in one of PHONE_REGIONS (or by its prefix)."""
    for region in PHONE_REGIONS:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


def _is_range(text: str) -> bool:
    """Years or round numbers from low to high (1930-1940, $ 1000-2000), not a number split in two."""
    found = RANGE.match(text)
    if not found:
        return False
    low, high = int(found.group(1)), int(found.group(2))
    years = all(1800 <= n <= 2199 for n in (low, high))
    return low < high and (years or (low % 10 == 0 and high % 10 == 0))


def _phone(match: re.Match[str]) -> str:
    text = match.group(0).rstrip(" ./-")
    tail = match.group(0)[len(text) :]
    digits = re.sub(r"\D", "", text)
    if (
        not 7 <= len(digits) <= 15
        or DATE.match(text)
        or any(shape.match(text) for shape in (AMOUNT, TIME_RANGE))
        or _is_range(text)
    ):
        return match.group(0)
    international = text.startswith(("+", "00"))
    bare = text.isdigit()
    if (
        (international and len(digits) >= 8)
        or (bare and len(digits) >= 10)
        or (not bare and GROUPED.match(text) and len(digits) >= 8)
        or LOCAL_NUMBER.match(text)
        or (text.startswith(("0", "(")) and _valid_somewhere(text))  # a trunk prefix: 030/98765432
    ):
        return "[phone]" + tail
    return match.group(0)


def redact(text: str) -> str:
    """``text`` with profile links, e-mails, IBANs, card numbers, IPs, phone numbers and handles replaced."""
    # Each pattern runs only where its anchor character occurs: most texts hold no "/", "@" or digit.
    if "/" in text:
        text = SOCIAL_URL.sub(_profile, text)
        if "/@" in text:
            text = FEDIVERSE_URL.sub(_profile, text)
    if "@" in text:
        text = EMAIL.sub("[email]", text)
    if "@" in text or SPELLED_AT_OR_DOT.search(text):
        text = OBFUSCATED_EMAIL.sub(_obfuscated_email, text)
    if DIGIT.search(text):
        text = IBAN.sub(_iban, text)
        text = CARD.sub(_card, text)
        if ":" in text:
            text = IPV6.sub(_ip, text)
        text = IPV4.sub(_ip, text)
        text = PHONE.sub(_phone, text)
    if "@" in text:
        text = HANDLE.sub("[handle]", text)
    return REDDIT_USER.sub("[handle]", text) if "u/" in text else text

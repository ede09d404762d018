"""Social-media text made fit for analysis, and a fingerprint to spot the same words posted many times.

``normalize`` keeps the words and drops what only identifies a post: HTML markup goes (entities decoded),
links become ``<url>``, @handles (also ``@name@instance``) become ``@user``, hashtags keep their word without
the ``#``, a leading retweet marker (``RT @name:``) goes, whitespace is collapsed. Case and punctuation stay,
because sentiment reads them ("GREAT!!!"). ``text_hash`` also ignores case, punctuation, links and handles.
"""

from __future__ import annotations

import hashlib
import html
import re

# Names and titles are text, not control characters (Unicode category Cc: C0, DEL, C1); long free text
# (a survey's intro) may also hold tabs and line breaks. The patterns suit msgspec and OpenAPI alike: the
# look-ahead keeps Python's ``$`` from accepting a final line break.
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$(?!\n)"
LONG_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$(?!\n)"
NO_CONTROL_CHARACTERS = "text without control characters (such as a bell, an escape or a line break)"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_character_error(text: str) -> str | None:
    """What is wrong with a name or title holding a control character; None if it holds none."""
    found = _CONTROL.search(text)
    return None if found is None else f"expected {NO_CONTROL_CHARACTERS}, found U+{ord(found[0]):04X}"


URL_TOKEN = "<url>"  # noqa: S105 - a placeholder word, not a secret
USER_TOKEN = "@user"  # noqa: S105 - a placeholder word, not a secret

_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|p|/div|div|li|/li|/h[1-6])\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<(?!url>)/?[a-zA-Z][^<>]*>")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?)]}'\""
_HANDLE = re.compile(
    r"(?<![\w@/])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?"  # @name
    r"(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?"  # @instance.social (Mastodon)
)
# A "#" before a word character and after none, nor "&" or "#"; written to begin with the "#" itself, so
# that the regex engine skips from one "#" to the next instead of trying each position.
_HASHTAG = re.compile(r"#(?<![\w&#]#)(?=\w)")
_RETWEET = re.compile(r"^\s*RT\s+@[A-Za-z0-9_.@-]+\s*:?\s*", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")


def strip_html(text: str) -> str:
    """The text inside HTML markup, entities decoded; plain text comes back unchanged (except entities)."""
    if "<" in text:
        text = _TAG.sub("", _BLOCK_TAG.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    return text


def is_retweet(text: str) -> bool:
    """True for a classic retweet ("RT @name: ..."): someone else's words passed on."""
    return _RETWEET.match(text) is not None


def _link(match: re.Match[str]) -> str:
    url = match.group(0)
    stripped = url.rstrip(_TRAILING_PUNCT)
    return URL_TOKEN + url[len(stripped) :]


def normalize(text: str) -> str:
    """The words of a post, for analysis (see the module docstring). The original is kept elsewhere."""
    text = strip_html(text)
    retweet = _RETWEET.match(text)
    if retweet is not None:
        text = text[retweet.end() :]
    if "http" in text or "www." in text or "HTTP" in text or "WWW." in text:
        text = _URL.sub(_link, text)
    if "@" in text:
        text = _HANDLE.sub(USER_TOKEN, text)
    if "#" in text:
        text = _HASHTAG.sub("", text)
    return " ".join(text.split())  # whitespace collapsed: str.split's is the \s of re


def text_hash(text_norm: str) -> str:
    """32 hex digits, equal for the same words: case, punctuation, spacing, links and handles aside."""
    return words_hash(content_words(text_norm))


def words_hash(words: list[str]) -> str:
    """text_hash from the text's content_words (when they are at hand already)."""
    return hashlib.blake2b(" ".join(words).casefold().encode(), digest_size=16).hexdigest()


def content_words(text_norm: str) -> list[str]:
    """The words of a normalized text, without the link and handle tokens."""
    if "<url>" in text_norm or "@user" in text_norm:
        text_norm = text_norm.replace(URL_TOKEN, " ").replace(USER_TOKEN, " ")
    return _WORD.findall(text_norm)

"""Normalization, the duplicate fingerprint, noise flags and the keyword/brand matcher (pure code)."""

from __future__ import annotations

import re
import sys
from datetime import UTC

import pytest

from feedback.analysis.matching import Matcher, Rule
from feedback.analysis.noise import Noise, NoiseRules, classify
from feedback.analysis.text import is_retweet, normalize, text_hash
from feedback.errors import InvalidInput
from feedback.mentions.rules import parse_rules


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Order #1234 late again!! https://t.co/AbC123 @AcmeHelp", "Order 1234 late again!! <url> @user"),
        ("Loving the new app #happy #CustomerService", "Loving the new app happy CustomerService"),
        ("RT @someone: the courier was rude", "the courier was rude"),
        ("  lots\n\tof   space  ", "lots of space"),
        ("Fish &amp; chips &lt;3 &quot;great&quot;", 'Fish & chips <3 "great"'),
        ("see www.acme.example/help.", "see <url>."),
        ("mail me: ann@example.com", "mail me: ann@example.com"),  # an e-mail is not a handle
        ("thanks @ann@mastodon.example and @bob.", "thanks @user and @user."),
        # Mastodon's HTML: paragraphs, mention and hashtag links, invisible URL parts
        (
            '<p>Hey <span class="h-card"><a href="https://m.example/@acme" class="u-url mention">@<span>acme'
            '</span></a></span> my parcel is lost <a href="https://m.example/tags/fail" '
            'class="mention hashtag" rel="tag">#<span>fail</span></a></p><p><a href="https://track.example/x/1">'
            '<span class="invisible">https://</span><span class="">track.example/x/1</span>'
            '<span class="invisible"></span></a></p>',
            "Hey @user my parcel is lost fail <url>",
        ),
    ],
)
def test_normalize_keeps_words_and_neutralizes_links_handles_tags_html(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
    assert normalize(expected) == expected  # normalizing twice changes nothing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("#fail #1234 #_x", "fail 1234 _x"),  # a tag keeps its word
        ("a#b c&#d ##e #", "a#b c&#d ##e #"),  # inside a word, an entity-like "&#", a doubled "#", a lone "#"
        ("x #\u00e9t\u00e9 (#late)", "x \u00e9t\u00e9 (late)"),
        ("  rt @a_b: RT @c: hi", "RT @user: hi"),  # only the leading retweet marker goes
        ("hi RT @c: x", "hi RT @user: x"),
    ],
)
def test_normalize_drops_tag_marks_and_a_leading_retweet_marker_only(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_collapses_every_kind_of_whitespace() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(c)) or chr(c).isspace()]
    assert len(spaces) > 20
    for c in spaces:
        assert normalize(f"{c}late{c}{c}again {c}") == "late again", repr(c)


def test_the_fingerprint_ignores_case_punctuation_spacing_links_and_handles() -> None:
    a = text_hash(normalize("Worst service EVER!!! https://t.co/1 @acme"))
    b = text_hash(normalize("worst   service ever. https://bit.example/zz @other_shop"))
    c = text_hash(normalize("Best service ever"))
    assert a == b != c
    assert len(a) == 32
    assert text_hash(normalize("RT @x: worst service ever")) == a  # a retweet carries the same words


def test_noise_rules_and_thresholds() -> None:
    rules = NoiseRules(min_words=3)
    assert (
        classify(normalize("The courier threw my parcel over the fence"), repost=False, rules=rules) is None
    )
    assert classify(normalize("same words, passed on"), repost=True, rules=rules) == Noise.REPOST
    assert classify(normalize("https://t.co/x @acme"), repost=False, rules=rules) == Noise.LINK_ONLY
    assert classify(normalize("lol"), repost=False, rules=rules) == Noise.SHORT
    assert classify(normalize("so bad https://t.co/x"), repost=False, rules=rules) == Noise.SHORT
    assert classify(normalize("😡😡😡"), repost=False, rules=rules) == Noise.SHORT
    assert classify(normalize("so bad"), repost=False, rules=NoiseRules(min_words=2)) is None
    assert classify(normalize("ok"), repost=False, rules=NoiseRules(min_words=0)) is None
    assert is_retweet("RT @acme: hello") and not is_retweet("ART @acme: hello")


def test_the_first_matching_rule_names_product_brand_and_department() -> None:
    matcher = Matcher(
        [
            Rule(
                keywords=("acme app", "mobile app"), product="Mobile app", brand="Acme", department="digital"
            ),
            Rule(
                patterns=(r"\bdeliver(y|ed|ies)\b", r"\bcourier\b"),
                product="Delivery",
                department="logistics",
            ),
            Rule(keywords=("acme",), brand="Acme"),
        ]
    )
    match = matcher.match("The ACME  app crashed and my delivery is late")
    assert match is not None and (match.product, match.brand, match.department) == (
        "Mobile app",
        "Acme",
        "digital",
    )
    match = matcher.match("courier never came")
    assert match is not None and (match.product, match.department) == ("Delivery", "logistics")
    assert matcher.match("I am happy") is None  # "app" inside a word is not the keyword
    match = matcher.match("I like acme")
    assert match is not None and (match.product, match.brand) == (None, "Acme")
    # The source's own product is seen by the rules too (a complaint export's Product column).
    by_product = Matcher([Rule(keywords=("mortgage",), department="lending")]).match(
        "they lost my papers", "Mortgage"
    )
    assert by_product is not None and by_product.department == "lending"


def test_a_rules_file_with_mistakes_names_the_rule() -> None:
    with pytest.raises(InvalidInput) as bad:
        parse_rules({"rules": [{"keywords": ["ok"]}, {"patterns": ["(unclosed"]}, {"product": "X"}]})
    assert [e.field for e in bad.value.errors] == ["rules[1].patterns", "rules[2]"]
    with pytest.raises(InvalidInput) as unknown:
        parse_rules({"rules": [{"keyword": ["typo"]}]})
    assert unknown.value.errors[0].field == "rules[0].keyword"
    matcher = parse_rules(
        {"rules": [{"keywords": ["refund"], "product": "Payments", "department": "billing"}]}
    )
    assert matcher.match("where is my refund?") is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-23", "2026-11-23T00:00:00+00:00"),
        ("20261123", "2026-11-23T00:00:00+00:00"),
        ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00+00:00"),
        ("2026-11-23T10:00:00+01:00", "2026-11-23T09:00:00+00:00"),
        ("Fri, 20 Nov 2026 01:30:00 GMT", "2026-11-20T01:30:00+00:00"),
        ("1795000000", "2026-11-18T11:06:40+00:00"),
        (1795000000, "2026-11-18T11:06:40+00:00"),
    ],
)
def test_times_in_the_formats_exports_use(value: object, expected: str) -> None:
    from feedback.mentions.prepare import parse_time

    assert parse_time(value).astimezone(UTC).isoformat() == expected


def test_counts_and_bad_times_are_refused_with_a_reason() -> None:
    from feedback.mentions.prepare import parse_count, parse_time

    assert parse_count("1,234") == 1234 and parse_count("") is None and parse_count(7) == 7
    for bad in ("-1", "many", "1.5", True, 2**31):
        with pytest.raises(ValueError):
            parse_count(bad)
    with pytest.raises(ValueError, match="expected a date"):
        parse_time("last tuesday")

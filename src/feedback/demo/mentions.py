"""What the public says about the demo company: posts, reviews and the noise around them, month by month.

The same history as the surveys (seed.py): the app's login bug in the first half, parcels left outside
growing at the end, slow refunds and long holds throughout. Review sites get review-length texts from the
survey phrase bank; social posts are short, tagged and hashtagged. Around them the noise a real feed has:
reposts, a spam giveaway copied by several accounts, posts with only a link, one-word posts, and pages
that a source delivers twice (removed by the ingest's dedup on ``(source, source_id)``).

``generate_mentions`` is pure (a fixed seed: the same arguments give the same posts); ``ingest_mentions``
stores them through the real import service, with the demo's routing rules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.resources import as_file, files
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.demo.comments import CommentWriter, Details
from feedback.demo.seed import APP_BUG, PARCELDASH_GROWTH
from feedback.mentions.importer import ImportReport, import_mentions
from feedback.mentions.rules import IngestOptions, load_matcher

SEED = 20_261_123
HANDLE = "@KestrelHome"
# source -> (share of the posts, where its posts live)
SOURCES = {
    "twitter": (0.38, "https://x.example/{author}/status/{id}"),
    "mastodon": (0.12, "https://social.example/@{author}/{id}"),
    "reddit": (0.1, "https://reddit.example/r/HomeDecorUK/comments/{id}"),
    "trustpilot": (0.28, "https://reviews.example/review/kestrel-home/{id}"),
    "appstore": (0.12, "https://apps.example/kestrel-home/reviews/{id}"),
}
REVIEW_SITES = ("trustpilot", "appstore")
ISSUE_AREA = {
    "refund_slow": "billing",
    "charged_twice": "billing",
    "parcel_left_outside": "delivery",
    "late_delivery": "delivery",
    "damaged_item": "delivery",
    "app_login": "digital",
    "checkout_error": "digital",
    "long_wait": "support",
    "transferred": "support",
    "store_stock": "store",
}
ITEMS = ("sofa", "mattress", "desk", "kettle", "rug", "floor lamp", "bed frame", "dinner set", "armchair")

_POSTS: dict[str, tuple[str, ...]] = {
    "refund_slow": (
        "{h} {weeks} weeks and still no refund for a {item} you collected. Where is my money?",
        "still waiting on my refund from {h}. {weeks} weeks now. every chat says 3-5 days",
        "Returned a {item} to {h} in {month_ago}. Refund? Nope. Nothing. #refund #customerservice",
        "Anyone else waiting forever for a refund from Kestrel Home? {weeks} weeks here",
        "{h} I'm done chasing this refund. {times} emails, {times} different answers.",
        "Kestrel Home refunds are a joke. Took my money in seconds, {weeks} weeks to give it back",
    ),
    "charged_twice": (
        "{h} you've charged my card twice for one {item} order. Please sort it",
        "Double charged by Kestrel Home again?? second time this year",
    ),
    "parcel_left_outside": (
        "{h} your courier just left my {item} outside in the rain. Box soaked. Great.",
        "ParcelDash left a Kestrel Home parcel on my doorstep and drove off. didn't even knock",
        "Delivery photo shows my parcel outside someone else's house. Thanks {h} #ParcelDash",
        "Third parcel from {h} dumped by the bins this month. I was home all day!",
        "why does the driver keep leaving my parcels outside? {h} pls tell ParcelDash to ring the bell",
        "Came home to a {item} box sitting in the porch for the whole street to see. {h}",
        "{h} parcel marked delivered, found it behind the garden gate 2 days later",
    ),
    "late_delivery": (
        "{h} took a day off for my {item} delivery and nobody came. No call, nothing",
        "Kestrel Home delivery {days} days late and the tracking just says 'in transit' #fail",
    ),
    "damaged_item": (
        "{h} my {item} arrived with a massive dent. Packaging ripped open",
        "New {item} from Kestrel Home turned up broken. Now I have to wait for a replacement",
    ),
    "app_login": (
        "{h} the app keeps logging me out since the update. Can't even see my order",
        "Is the Kestrel Home app broken for anyone else? Can't log in, it just spins",
        "{h} app says my password is wrong, reset it 3 times, still can't log in",
        "can't sign in to the kestrel home app since yesterday's update. fix it please {h}",
        "The Kestrel Home app locked me out again. Had to order on the website instead",
    ),
    "checkout_error": (
        "{h} checkout keeps failing at the payment step. Tried 3 cards",
        "Kestrel Home website checkout error again, basket emptied itself #annoying",
    ),
    "long_wait": (
        "{mins} minutes on hold to {h} customer service and counting. Same hold music on loop",
        "On hold with Kestrel Home for {mins} mins just to ask where my order is",
        "{h} why is your helpline queue always {mins}+ minutes on a Monday?",
        "Gave up after {mins} minutes on hold. {h} please hire more people",
    ),
    "transferred": (
        "{h} transferred {times} times on one call and ended up back where I started",
        "Called Kestrel Home, got passed between departments, nobody could help. #customerservice",
    ),
    "store_stock": (
        "Drove to the Kestrel Home {store} store, website said in stock, shop said sold out weeks ago",
        "{h} your stock checker is wrong again. Wasted a trip to {store}",
    ),
}
_PRAISE_POSTS = (
    "New {item} from {h} arrived today and it's gorgeous. Really happy",
    "Shoutout to {h}, delivery guys carried the {item} upstairs and took the packaging. Legends",
    "Kestrel Home customer service sorted my issue in 5 mins on chat. Impressed",
    "Love my new {item} from Kestrel Home. Great quality for the price #homedecor",
    "{h} delivered a day early! {item} looks even better than the photos",
    "Popped into the {store} store, staff were lovely and helped me pick a {item}",
    "Refund from {h} came through in 2 days, no fuss. Thank you",
)
_NEUTRAL_POSTS = (
    "{h} do you deliver to the Isle of Wight?",
    "Is the Kestrel Home sale on the {item}s still on this weekend?",
    "Thinking of getting a {item} from Kestrel Home, anyone tried theirs?",
    "{h} what time does the {store} store open on Sundays?",
    "Kestrel Home or somewhere else for a {item}? Opinions welcome",
)
# Around the core of a post: how people open, close and tag (each optional, so few posts are alike).
_OPENERS = (
    "Honestly.", "Unbelievable.", "Right, rant incoming.", "Third time asking:", "Ugh.", "So.",
    "Not again.", "PSA:", "Can't believe this.", "Just saying,", "Well.", "Day {n} of this.",
)  # fmt: skip
_CLOSERS = (
    "Not impressed.", "Sort it out.", "Anyone else?", "Last time I order from you.", "Fuming.",
    "Really disappointed.", "Is anyone actually reading these?", "Please DM me.", "Shocking.",
    "Order #KH{order}.", "Not what I expect for the price.", "Cheers for nothing.",
)  # fmt: skip
_GOOD_CLOSERS = (
    "Will order again.", "10/10.", "Thank you!", "Recommend.", "Made my week.", "Great service.",
    "Well done team.", "Happy customer here.",
)  # fmt: skip
_BAD_TAGS = ("#customerservice", "#fail", "#KestrelHome", "#annoyed", "#rant", "#notimpressed")
_GOOD_TAGS = ("#homedecor", "#KestrelHome", "#newhome", "#interiors", "#happycustomer")
_ASK_OPENERS = ("Quick question:", "Hi,", "Hey", "Random one but", "Help!", "Question for", "Morning!")
_ASK_CLOSERS = ("Thanks!", "Cheers.", "Anyone know?", "Thanks in advance", "x", "Ta.")
_HEADLINES_BAD = (
    "Avoid", "Never again", "Very disappointed", "Poor service", "Terrible experience", "Not good enough",
    "Frustrating", "One star is too many", "Let down", "Would not recommend",
)  # fmt: skip
_POS_OPENERS = ("Have to say,", "Genuinely,", "Shoutout time:", "Small win today:", "Update:")
_NEUTRAL_REVIEW = (
    "Nothing special but nothing wrong either.", "Prices are fair.", "Would probably use again.",
    "Delivery was on the day they said.", "The website is easy enough.", "Staff were polite.",
)  # fmt: skip
_HEADLINES_GOOD = ("Great service", "Really pleased", "Lovely quality", "Five stars", "Happy", "Impressed")
# The last afternoon: the website's checkout breaks, and people say so within minutes (an alert's spike).
_OUTAGE = (
    "{h} checkout is broken, payment page just errors out. Terrible timing with the sale",
    "Website checkout down? Keep getting an error at payment, basket emptied itself. Awful",
    "can't pay on the kestrel home website, checkout error every single time. useless",
    "{h} your payment page is broken right now. Tried 3 cards, same error. Bad",
    "Checkout keeps failing on the Kestrel Home site. Worst possible day for it",
    "Is the {h} checkout broken for everyone? Error at the payment step, basket gone",
    "Kestrel Home checkout error again and again. Lost my basket twice. Terrible",
    "{h} the checkout page times out at payment. Horrible, I just want to buy a {item}",
)
_OUTAGE_HOURS = 2.5
_SPAM = (
    "Kestrel Home is giving away £500 vouchers to the first 1000 people! Claim yours now https://bit.example/kh500",
    "FREE Kestrel Home gift card!!! Just follow and retweet. Claim here https://promo.example/kestrel",
)
_SHORT = ("lol", "{h} ??", "meh", "ok then", "ugh {h}")
_LINK_ONLY = ("https://x.example/photo/{id}", "{h} https://imgs.example/{id}")
_STORES = ("Northgate", "Harbour Park", "Eastbrook", "Hillcrest", "Market Square")
_NAMES = (
    "sarahk", "mike_builds", "jen.lee", "homewithhannah", "dan_the_van", "ruthless_reads", "kieran88",
    "ayo.cooks", "lou_in_leeds", "pete.m", "the_real_gemma", "nathan_w", "cozycorner", "mrsbrowning",
    "tomoftheglen", "cait_r", "bradders", "lizzie.makes", "farah_k", "oldhousenewtricks", "jamesonline",
    "vic_travels", "mo_salah_fan", "crafty_claire", "steph.b", "ollie_p", "dr_anna", "ben.fixes",
)  # fmt: skip


@dataclass
class MentionPlan:
    """Raw fields per source, as the sources would export them (duplicates included)."""

    batches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(rows) for rows in self.batches.values())


def _issue_weights(t: float, monday: bool) -> dict[str, float]:
    """How often each problem comes up in public at time ``t`` (0..1 of the period)."""
    bug = 3.2 if APP_BUG[0] <= t < APP_BUG[1] else 0.15
    outside = 0.5 + 3.5 * min(1.0, max(0.0, (t - PARCELDASH_GROWTH[0]) / 0.4))
    return {
        "refund_slow": 1.6,
        "charged_twice": 0.4,
        "parcel_left_outside": outside,
        "late_delivery": 0.8,
        "damaged_item": 0.6,
        "app_login": bug,
        "checkout_error": 0.3,
        "long_wait": 1.6 if monday else 0.9,
        "transferred": 0.5,
        "store_stock": 0.4,
    }


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.comments = CommentWriter(rng)
        self.ids = 7_400_000_000

    def _fill(self, template: str) -> str:
        rng = self.rng
        return template.format(
            h=HANDLE,
            item=rng.choice(ITEMS),
            weeks=rng.choice((3, 4, 5, 6)),
            month_ago=rng.choice(("August", "September", "October", "early last month")),
            times=rng.choice((3, 4, 5)),
            days=rng.choice((2, 3, 4, 5)),
            mins=rng.choice((35, 40, 45, 50, 55, 70)),
            store=rng.choice(_STORES),
            id=rng.randrange(10**6, 10**7),
        )

    def post(self, issue: str | None, mood: str) -> str:
        """A social post: an optional opener, the core, an optional closer and hashtags."""
        rng = self.rng
        if issue is not None:
            return self._join(_OPENERS, self._fill(rng.choice(_POSTS[issue])), _CLOSERS, _BAD_TAGS)
        if mood == "good":
            return self._join(_POS_OPENERS, self._fill(rng.choice(_PRAISE_POSTS)), _GOOD_CLOSERS, _GOOD_TAGS)
        return self._join(_ASK_OPENERS, self._fill(rng.choice(_NEUTRAL_POSTS)), _ASK_CLOSERS, ())

    def _join(
        self, openers: tuple[str, ...], core: str, closers: tuple[str, ...], tags: tuple[str, ...]
    ) -> str:
        rng = self.rng
        parts = [core if core[-1] in ".!?" else core + rng.choice((".", "!", "", "..."))]
        if rng.random() < 0.45:
            parts.insert(0, rng.choice(openers).format(n=rng.randrange(3, 15)))
        if rng.random() < 0.65:
            parts.append(rng.choice(closers).format(order=rng.randrange(100_000, 999_999)))
        if tags and rng.random() < 0.35:
            parts += rng.sample(tags, rng.randrange(1, 3))
        text = " ".join(parts)
        return text.lower() if rng.random() < 0.12 else text

    def review(self, issue: str | None, mood: str) -> str:
        """A review: a headline, then a comment like a survey's, sometimes a second thought."""
        rng = self.rng
        details = Details(item=rng.choice(ITEMS), store=f"the {rng.choice(_STORES)} store")
        if issue is not None:
            area = ISSUE_AREA[issue]
            channel = "phone" if area == "support" else None
            body = self.comments.complaint(area, [issue], details, channel)
            more = self.comments.issue_sentence(issue, details, channel)
            if more not in body:
                body = f"{body.rstrip('.!')}. {more}"
            headline = rng.choice(_HEADLINES_BAD)
        else:
            area = rng.choice(("delivery", "online", "store", "support"))
            if mood == "good":
                body = self.comments.praise(area, details)
                more = self.comments.praise_sentence(area, details)
                if more not in body:
                    body = f"{body.rstrip('.!')}. {more}"
                headline = rng.choice(_HEADLINES_GOOD)
            else:
                body = f"{self.comments.mixed(area, [], details).rstrip('.!')}. {rng.choice(_NEUTRAL_REVIEW)}"
                headline = rng.choice(("OK", "Fine", "Average", "Mixed", "Three stars"))
        return f"{headline}. {body}" if rng.random() < 0.8 else body

    def next_id(self) -> str:
        self.ids += self.rng.randrange(1, 5000)
        return str(self.ids)


def generate_mentions(start: datetime, end: datetime, per_day: int) -> MentionPlan:
    """About ``per_day`` mentions a day from ``start`` to ``end``, with noise and re-delivered pages."""
    rng = random.Random(SEED)
    writer = _Writer(rng)
    plan = MentionPlan({source: [] for source in SOURCES})
    shares = [(source, share) for source, (share, _) in SOURCES.items()]
    span = (end - start).total_seconds()
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    posted: list[tuple[str, dict[str, Any]]] = []
    while day < end:
        for _ in range(max(0, round(rng.gauss(per_day, per_day**0.5)))):
            at = day + timedelta(seconds=rng.randrange(86_400))
            if not start <= at < end:
                continue
            t = (at - start).total_seconds() / span
            source = rng.choices([s for s, _ in shares], [w for _, w in shares])[0]
            weights = _issue_weights(t, at.weekday() == 0)
            if source == "appstore":
                weights = {
                    k: (v if k in ("app_login", "checkout_error") else 0.05) for k, v in weights.items()
                }
            roll = rng.random()
            issue = rng.choices(list(weights), list(weights.values()))[0] if roll < 0.55 else None
            mood = "good" if roll < 0.85 else "neutral"
            text = writer.review(issue, mood) if source in REVIEW_SITES else writer.post(issue, mood)
            posted.append((source, _raw(rng, writer, source, at, text)))
        day += timedelta(days=1)
    posted += _noise(rng, writer, posted, start, end)
    posted += _outage(rng, writer, end)
    posted.sort(key=lambda item: item[1]["posted_at"])
    for source, raw in posted:
        plan.batches[source].append(raw)
    for rows in plan.batches.values():  # a source re-sends about 3% of its posts (overlapping pages)
        again = [dict(row) for row in rows if rng.random() < 0.03]
        rows.extend(again)
    return plan


def _raw(rng: random.Random, writer: _Writer, source: str, at: datetime, text: str) -> dict[str, Any]:
    author = rng.choice(_NAMES) + (str(rng.randrange(10, 99)) if rng.random() < 0.6 else "")
    post_id = writer.next_id()
    return {
        "source_id": post_id,
        "text": text,
        "posted_at": at.isoformat(),
        "author": author,
        "url": SOURCES[source][1].format(author=author, id=post_id),
        "lang": "en",
        "followers": int(rng.paretovariate(1.2) * 80),
        "likes": int(rng.expovariate(0.4)),
        "shares": int(rng.expovariate(1.2)),
        "repost": False,
    }


def _noise(
    rng: random.Random,
    writer: _Writer,
    posted: list[tuple[str, dict[str, Any]]],
    start: datetime,
    end: datetime,
) -> list[tuple[str, dict[str, Any]]]:
    """Reposts of popular posts, spam copied by several accounts, link-only and one-word posts."""
    out: list[tuple[str, dict[str, Any]]] = []
    social = [(s, raw) for s, raw in posted if s in ("twitter", "mastodon")]
    for source, raw in rng.sample(social, min(len(social), max(2, len(social) // 12))):
        at = datetime.fromisoformat(raw["posted_at"]) + timedelta(minutes=rng.randrange(5, 600))
        if at < end:
            copy = _raw(rng, writer, source, at, f"RT @{raw['author']}: {raw['text']}")
            copy["repost"] = source == "mastodon"  # a boost says so; a retweet only in its text
            out.append((source, copy))
    span = (end - start).total_seconds()
    for spam in _SPAM:  # a giveaway scam posted by several accounts in one afternoon
        burst = start + timedelta(seconds=rng.uniform(0.2, 0.9) * span)
        for _ in range(rng.randrange(4, 8)):
            out.append(
                ("twitter", _raw(rng, writer, "twitter", burst + timedelta(minutes=rng.randrange(240)), spam))
            )
    for _ in range(max(3, len(posted) // 60)):
        at = start + timedelta(seconds=rng.uniform(0, 1) * span)
        template = rng.choice(_LINK_ONLY if rng.random() < 0.5 else _SHORT)
        out.append(("twitter", _raw(rng, writer, "twitter", at, writer._fill(template))))
    return out


def _outage(rng: random.Random, writer: _Writer, end: datetime) -> list[tuple[str, dict[str, Any]]]:
    """About a dozen complaints about the broken checkout in the last hours, each in its own words."""
    out = []
    for _ in range(rng.randrange(12, 16)):
        at = end - timedelta(hours=rng.uniform(0.1, _OUTAGE_HOURS))
        text = writer._join(_OPENERS, writer._fill(rng.choice(_OUTAGE)), _CLOSERS, _BAD_TAGS)
        source = "twitter" if rng.random() < 0.7 else "mastodon"
        out.append((source, _raw(rng, writer, source, at, text)))
    return out


def ingest_mentions(
    sessions: sessionmaker[Session], settings: Settings, plan: MentionPlan
) -> dict[str, ImportReport]:
    """Store the plan through the mention import service (dedup, noise flags, sentiment, routing rules)."""
    with as_file(files("feedback.demo") / "mention-rules.toml") as rules:
        matcher = load_matcher(rules)
    base = IngestOptions.from_settings(settings)
    options = IngestOptions(matcher, base.noise, base.max_text_chars, base.copypasta_accounts)
    return {
        source: import_mentions(sessions, enumerate(rows, start=1), options, source, chunk_size=2000)
        for source, rows in plan.batches.items()
        if rows
    }

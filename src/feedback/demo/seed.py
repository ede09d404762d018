"""A realistic demo company, Kestrel Home: an online homeware retailer with stores, a support centre
and its own deliveries, with months of survey history to explore.

The history is generated from a model of the company with a fixed random seed: the same arguments and
the same ``now`` give the same rows (another ``now`` gives another history with the same structure).
What an analysis should find in it is built in on purpose:

- root causes owned by departments: slow refunds (billing, steady), parcels left outside (delivery,
  growing over the last months as the courier ParcelDash takes over more routes), the app's login
  failing after an update (digital, fixed half-way through the period), long waits on hold (support,
  steady, worst on Mondays), transfers between teams (support, mostly at one contractor, and more often
  since its new call-routing script of three weeks ago);
- the outsourced contact centre Callbridge Solutions resolves fewer contacts at the first attempt and
  earns lower scores than the in-house teams and Meridian Contact;
- long waits, short handling times, transfers and unresolved contacts lower effort (CES) and satisfaction;
- comments match their scores (detractors complain, promoters praise) apart from a realistic few.

``generate`` builds the data in memory (no database); ``seed_demo`` stores it with bulk inserts.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.resources import as_file, files
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from feedback.accounts.api_tokens import create_token
from feedback.analysis.sentiment import ANALYZER, score_text
from feedback.demo.comments import CommentWriter, Details
from feedback.departments.service import DepartmentSpec, HeadSpec, upsert_department
from feedback.errors import InvalidInput
from feedback.invitations.service import _dedup_key, link_for
from feedback.metrics import rollups
from feedback.models import Answer, Invitation, Response, Role, Survey, utcnow
from feedback.models.context import CONTEXT_FIELDS
from feedback.outcomes.store import store_events
from feedback.surveys.service import load_survey, public_link, read_survey_file
from feedback.tokens import new_token

SEED = 20_261_112
COMPANY = "Kestrel Home"
DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("support", "Customer Support"),
    ("delivery", "Delivery & Logistics"),
    ("billing", "Billing & Payments"),
    ("digital", "App & Website"),
    ("stores", "Stores & Sales"),
)
# Each department's head gets its digest on Monday mornings, London time.
HEADS = {
    "support": ("Sam Support", "support-head@kestrel-home.example"),
    "delivery": ("Dana Delivery", "delivery-head@kestrel-home.example"),
    "billing": ("Bea Billing", "billing-head@kestrel-home.example"),
    "digital": ("Dev Digital", "digital-head@kestrel-home.example"),
    "stores": ("Stella Stores", "stores-head@kestrel-home.example"),
}
DIGEST_SCHEDULE, TIMEZONE = "0 8 * * mon", "Europe/London"
SURVEY_FILES = ("support-contact.toml", "delivery.toml", "purchase.toml")
SUPPORT, DELIVERY, PURCHASE = "support-contact", "delivery", "purchase"
INVITATION_DAYS = 30  # personal links expire after this
INVITATIONS = cast(Table, Invitation.__table__)
RESPONSES = cast(Table, Response.__table__)
ANSWERS = cast(Table, Answer.__table__)

# The company's history, as fractions of the demo period (0 = its first day, 1 = now).
APP_BUG = (0.12, 0.5)  # an app update breaks login; fixed half-way through
PARCELDASH_GROWTH = (0.6, 1.0)  # the courier takes over more routes, and leaves more parcels outside
ROUTING_SCRIPT_DAYS = 21  # Callbridge's new call-routing script, this many days before now, transfers 4x more

# Share of each day's responses per survey; the public (anonymous) link brings a few more.
SURVEY_SHARE = {SUPPORT: 0.45, DELIVERY: 0.33, PURCHASE: 0.17}
PUBLIC_SHARE = 0.05
# Who answers: response rates by channel.
RESPONSE_RATE = {"phone": 0.22, "chat": 0.34, "email": 0.27, "web": 0.31, "store": 0.18}
CHANNELS = {
    SUPPORT: (("phone", 0.45), ("chat", 0.33), ("email", 0.22)),
    DELIVERY: (("web", 0.85), ("store", 0.15)),
    PURCHASE: (("web", 0.65), ("store", 0.35)),
}
WEEKDAY = (1.18, 1.08, 1.04, 1.0, 0.98, 0.9, 0.82)  # Monday .. Sunday, mean 1

REGIONS = (("North", 0.24), ("South", 0.26), ("East", 0.16), ("West", 0.16), ("Central", 0.18))
STORES = {
    "North": "Northgate",
    "South": "Harbour Park",
    "East": "Eastbrook",
    "West": "Hillcrest",
    "Central": "Market Square",
}
# Category, its items, and whether they are big (two-person delivery).
PRODUCTS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("Sofas & Chairs", ("sofa", "armchair", "corner sofa"), True),
    ("Beds & Mattresses", ("mattress", "bed frame", "wardrobe"), True),
    ("Home Office", ("desk", "office chair", "bookcase"), True),
    ("Garden", ("garden bench", "parasol", "rattan set"), True),
    ("Kitchen", ("kettle", "toaster", "pan set", "dinner set", "coffee machine"), False),
    ("Lighting", ("floor lamp", "ceiling light", "table lamp"), False),
    ("Rugs & Textiles", ("rug", "curtains", "cushions", "duvet"), False),
)
PRODUCT_WEIGHTS = (0.12, 0.12, 0.1, 0.08, 0.24, 0.16, 0.18)

SUPPORT_TOPICS = (
    ("An order or delivery", 0.36),
    ("A refund or payment", 0.22),
    ("The app or website", 0.1),
    ("A product question", 0.18),
    ("Something else", 0.14),
)
# Topic -> (department, team) that handles the contact.
TOPIC_TEAM = {
    "An order or delivery": ("support", "Orders & Delivery"),
    "A refund or payment": ("billing", "Payments & Refunds"),
    "The app or website": ("digital", "Digital Help Desk"),
    "A product question": ("support", "General Enquiries"),
    "Something else": ("support", "General Enquiries"),
}
CALLBRIDGE, MERIDIAN = "Callbridge Solutions", "Meridian Contact"
PARCELDASH, HALE = "ParcelDash", "Hale Two-Person Delivery"
# Agents per team and employer (None: in-house).
STAFFING: dict[str, tuple[tuple[str | None, int], ...]] = {
    "Orders & Delivery": ((None, 5), (CALLBRIDGE, 5), (MERIDIAN, 2)),
    "General Enquiries": ((None, 4), (CALLBRIDGE, 4), (MERIDIAN, 2)),
    "Payments & Refunds": ((None, 3), (MERIDIAN, 2)),
    "Digital Help Desk": ((None, 2), (CALLBRIDGE, 1)),
}
# How employers differ: (skill shift, first-contact resolution shift, chance to transfer, handle-time factor)
EMPLOYER = {
    None: (0.45, 0.0, 0.04, 1.0),
    MERIDIAN: (0.3, -0.04, 0.06, 0.95),
    CALLBRIDGE: (-0.1, -0.14, 0.16, 0.75),
}
HANDLE_MEDIAN = {"phone": 420.0, "chat": 540.0, "email": 260.0}
ISSUE_WEIGHT = {
    "refund_slow": 2.2,
    "charged_twice": 2.0,
    "parcel_left_outside": 1.7,
    "late_delivery": 1.9,
    "damaged_item": 2.3,
    "app_login": 1.8,
    "checkout_error": 1.3,
    "long_wait": 0.3,
    "transferred": 1.1,
    "unhelpful": 1.0,
    "store_stock": 1.4,
    "product_quality": 1.9,
}

_FIRST = (
    "Priya",
    "Tom",
    "Aisha",
    "Liam",
    "Chloe",
    "Marek",
    "Sofia",
    "Daniel",
    "Grace",
    "Kwame",
    "Hannah",
    "Oliver",
    "Fatima",
    "Jack",
    "Mei",
    "Ryan",
    "Zara",
    "Connor",
    "Elena",
    "Sam",
    "Nadia",
    "Ben",
    "Ruth",
    "Ahmed",
    "Leah",
    "Jordan",
    "Isla",
    "Tariq",
    "Megan",
    "Luca",
    "Amara",
    "Joe",
    "Kasia",
    "Dev",
    "Erin",
    "Callum",
    "Yusuf",
    "Holly",
    "Ravi",
    "Niamh",
)
_LAST = (
    "smith",
    "patel",
    "jones",
    "okafor",
    "nowak",
    "murphy",
    "khan",
    "williams",
    "brown",
    "taylor",
    "wilson",
    "evans",
    "thomas",
    "roberts",
    "walker",
    "wright",
    "hughes",
    "green",
    "hall",
    "wood",
    "chen",
    "ali",
    "kowalski",
    "davies",
    "campbell",
    "clarke",
    "young",
    "king",
    "mensah",
    "oconnor",
)


@dataclass(frozen=True)
class Agent:
    name: str
    team: str
    department: str
    contractor: str | None
    skill: float


@dataclass
class PlannedInvitation:
    survey: str
    created_at: datetime
    responded_at: datetime | None
    customer_id: str
    email: str | None
    interaction_id: str
    context: dict[str, Any]  # CONTEXT_FIELDS, with the department's slug under "department"


@dataclass
class PlannedResponse:
    id: uuid.UUID
    survey: str
    invitation: int | None  # index into DemoData.invitations
    via: str
    submitted_at: datetime
    context: dict[str, Any]
    answers: dict[str, int | str]  # question key -> score, choice or text


@dataclass
class DemoData:
    start: datetime
    end: datetime
    invitations: list[PlannedInvitation] = field(default_factory=list)
    responses: list[PlannedResponse] = field(default_factory=list)


@dataclass
class _Experience:
    """One interaction: its context, and the hidden facts its scores and comment come from."""

    context: dict[str, Any]
    issues: list[str]
    details: Details
    area: str  # which praise fits: support, billing, digital, delivery, online, store
    penalty: float  # how much worse than a usual experience
    effort: float  # extra effort asked of the customer
    skill: float = 0.0
    topic: str | None = None


T = TypeVar("T")


class _Weighted(Generic[T]):
    """Draws from weighted options (cumulative weights computed once: this runs ~100,000 times)."""

    def __init__(self, options: Sequence[tuple[T, float]]) -> None:
        self.items = [item for item, _ in options]
        self.cumulative = list(itertools.accumulate(weight for _, weight in options))

    def draw(self, rng: random.Random) -> T:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


_REGION = _Weighted(REGIONS)
_PRODUCT = _Weighted(list(zip(PRODUCTS, PRODUCT_WEIGHTS, strict=True)))
_CHANNEL = {survey: _Weighted(options) for survey, options in CHANNELS.items()}
_TOPIC = _Weighted(SUPPORT_TOPICS)
_TOPIC_APP_BUG = _Weighted([(t, w + 0.14 if t == "The app or website" else w) for t, w in SUPPORT_TOPICS])
_OFFICE_HOURS = _Weighted(list(zip(range(8, 20), (3, 5, 6, 6, 6, 6, 5, 5, 5, 4, 3, 2), strict=True)))
_ANY_HOUR = _Weighted(
    list(zip(range(6, 24), (1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 7, 6, 4, 2), strict=True))
)


def _ramp(t: float, start: float, end: float) -> float:
    return min(1.0, max(0.0, (t - start) / (end - start)))


class _Generator:
    def __init__(self, rng: random.Random, start: datetime, end: datetime) -> None:
        self.rng = rng
        self.start = start
        self.end = end
        self.span = (end - start).total_seconds()
        self.writer = CommentWriter(rng)
        names = iter(rng.sample([f"{f} {chr(65 + i)}." for f in _FIRST for i in range(26)], 60))
        self.agents: dict[str, list[Agent]] = {}
        for team, employers in STAFFING.items():
            department = next(d for d, t in TOPIC_TEAM.values() if t == team)
            self.agents[team] = [
                Agent(next(names), team, department, contractor, EMPLOYER[contractor][0] + rng.gauss(0, 0.25))
                for contractor, count in employers
                for _ in range(count)
            ]
        self.store_staff = {region: [next(names) for _ in range(3)] for region, _ in REGIONS}
        self.customers: list[tuple[str, str | None, str]] = []
        self.counters: dict[str, int] = {}

    # -- small draws -------------------------------------------------------------------------------------

    def customer(self) -> tuple[str, str | None, str]:
        """(customer_id, email, region): mostly new customers, some who come back."""
        rng = self.rng
        if self.customers and rng.random() < 0.28:
            return rng.choice(self.customers)
        n = len(self.customers) + 1
        first, last = rng.choice(_FIRST).lower(), rng.choice(_LAST)
        domain = rng.choice(("com", "org", "net"))
        email = None if rng.random() < 0.04 else f"{first}.{last}{n}@example.{domain}"
        found = (f"KH{100000 + n * 7:07d}", email, _REGION.draw(rng))
        self.customers.append(found)
        return found

    def product(self) -> tuple[str, str, bool]:
        category, items, big = _PRODUCT.draw(self.rng)
        return category, self.rng.choice(items), big

    def interaction_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]:06d}"

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0, sigma))

    # -- the three kinds of interaction -------------------------------------------------------------------

    def support(self, when: datetime, t: float, channel: str, region: str) -> _Experience:
        rng = self.rng
        bug = APP_BUG[0] <= t < APP_BUG[1]
        topic = (_TOPIC_APP_BUG if bug else _TOPIC).draw(rng)
        department, team = TOPIC_TEAM[topic]
        agent = rng.choice(self.agents[team])
        _, fcr_shift, transfer_chance, handle_factor = EMPLOYER[agent.contractor]
        if agent.contractor == CALLBRIDGE and when >= self.end - timedelta(days=ROUTING_SCRIPT_DAYS):
            transfer_chance *= 4
        category, item, _ = self.product()

        if channel == "phone":  # hold times: worst on Mondays and around lunch
            busy = (1.6, 1.15, 1.0, 0.95, 1.0, 0.85, 0.8)[when.weekday()]
            busy *= 1.3 if 11 <= when.hour < 14 else 1.0
            wait = self.lognormal(210 * busy, 0.75)
            wait_penalty = min(1.8, max(0.0, (wait - 240) / 60 * 0.06))
        elif channel == "chat":
            wait = self.lognormal(70, 0.8)
            wait_penalty = min(1.5, max(0.0, (wait - 120) / 60 * 0.15))
        else:
            wait = self.lognormal(6 * 3600, 0.9)
            wait_penalty = min(1.5, max(0.0, (wait - 12 * 3600) / 3600 * 0.03))
        handle = self.lognormal(HANDLE_MEDIAN[channel] * handle_factor, 0.5)
        rushed = handle < 0.5 * HANDLE_MEDIAN[channel]

        issues: list[str] = []
        roll = rng.random()
        if topic == "A refund or payment":
            if roll < 0.34:
                issues.append("refund_slow")
            elif roll < 0.42:
                issues.append("charged_twice")
        elif topic == "An order or delivery":
            left = 0.03 + 0.1 * _ramp(t, *PARCELDASH_GROWTH)
            if roll < 0.16:
                issues.append("late_delivery")
            elif roll < 0.16 + left:
                issues.append("parcel_left_outside")
            elif roll < 0.24 + left:
                issues.append("damaged_item")
        elif topic == "The app or website":
            if roll < (0.62 if bug else 0.02):  # rare once the bug is fixed
                issues.append("app_login")
            elif roll < (0.72 if bug else 0.2):
                issues.append("checkout_error")
        elif topic == "A product question" and roll < 0.08:
            issues.append("product_quality")
        transferred = rng.random() < transfer_chance
        if transferred:
            issues.append("transferred")
        fcr_chance = 0.8 + fcr_shift - (0.12 if issues else 0) - (0.18 if rushed else 0)
        fcr_chance -= (0.3 if transferred else 0) + (0.06 if channel == "email" else 0)
        resolved = rng.random() < fcr_chance
        if not resolved and rng.random() < 0.35:
            issues.append("unhelpful")
        if wait_penalty > 0.6 and rng.random() < 0.75:
            issues.insert(0 if rng.random() < 0.4 else len(issues), "long_wait")

        penalty = sum(ISSUE_WEIGHT[i] for i in issues) + wait_penalty + (0.0 if resolved else 0.6)
        penalty += 0.3 if rushed else 0.0
        effort = 0.7 * wait_penalty + (1.0 if transferred else 0) + (0.9 if not resolved else 0)
        effort += 0.4 if rushed else 0
        context = {
            "department": department,
            "channel": channel,
            "product": category,
            "team": team,
            "agent": agent.name,
            "contractor": agent.contractor,
            "region": region,
            "handle_time_s": round(handle),
            "wait_time_s": round(wait),
            "first_contact_resolved": resolved,
        }
        late = rng.choice((2, 3, 4, 5, 6)) if "late_delivery" in issues else None
        area = department if department != "support" and rng.random() < 0.5 else "support"
        details = Details(agent.name, item, STORES[region], round(wait), late)
        return _Experience(context, issues, details, area, penalty, effort, agent.skill, topic)

    def delivery(self, when: datetime, t: float, channel: str, region: str) -> _Experience:
        rng = self.rng
        category, item, big = self.product()
        growth = _ramp(t, *PARCELDASH_GROWTH)
        if big:
            contractor: str | None = HALE
        elif region in ("South", "East", "Central") and rng.random() < 0.3 + 0.55 * growth:
            contractor = PARCELDASH
        else:
            contractor = None  # Kestrel's own vans
        issues: list[str] = []
        roll = rng.random()
        left = (0.03 + 0.3 * growth) if contractor == PARCELDASH else (0.0 if big else 0.01)
        late = 0.1 if contractor == PARCELDASH else 0.07
        damaged = 0.06 if big else 0.035
        late_days = None
        lead_days = rng.choice((1, 2, 2, 3, 3, 4)) + (2 if big else 0)
        if roll < left:
            issues.append("parcel_left_outside")
        elif roll < left + late:
            issues.append("late_delivery")
            late_days = rng.choice((1, 2, 2, 3, 4, 6))
            lead_days += late_days
        elif roll < left + late + damaged:
            issues.append("damaged_item")
        penalty = sum(ISSUE_WEIGHT[i] for i in issues)
        effort = 0.8 * penalty if issues else 0.0
        wait = lead_days * 86400 + rng.randint(-6, 6) * 3600
        context = {
            "department": "delivery",
            "channel": channel,
            "product": category,
            "team": f"{region} depot",
            "agent": None,
            "contractor": contractor,
            "region": region,
            "handle_time_s": None,
            "wait_time_s": wait,
            "first_contact_resolved": None,
        }
        details = Details(item=item, store=STORES[region], late_days=late_days)
        return _Experience(context, issues, details, "delivery", penalty, effort, 0.4)

    def purchase(self, when: datetime, t: float, channel: str, region: str) -> _Experience:
        rng = self.rng
        category, item, _ = self.product()
        issues: list[str] = []
        roll = rng.random()
        store = STORES[region]
        if channel == "web":
            login = 0.15 if APP_BUG[0] <= t < APP_BUG[1] else 0.005
            if roll < login:
                issues.append("app_login")
            elif roll < login + 0.035:
                issues.append("checkout_error")
            elif roll < login + 0.09:
                issues.append("product_quality")
            department, team, agent = "digital", "Online shop", None
        else:
            if roll < 0.07:
                issues.append("store_stock")
            elif roll < 0.12:
                issues.append("product_quality")
            department, team, agent = "stores", f"{store} store", rng.choice(self.store_staff[region])
        penalty = sum(ISSUE_WEIGHT[i] for i in issues)
        context = {
            "department": department,
            "channel": channel,
            "product": category,
            "team": team,
            "agent": agent,
            "contractor": None,
            "region": region,
            "handle_time_s": None,
            "wait_time_s": None,
            "first_contact_resolved": None,
        }
        details = Details(agent=agent, item=item, store=store)
        area = "online" if channel == "web" else "store"
        return _Experience(context, issues, details, area, penalty, 0.0, 0.15)

    # -- scores and comments ------------------------------------------------------------------------------

    def answers(self, survey: str, exp: _Experience) -> dict[str, int | str]:
        rng = self.rng
        z = exp.skill + rng.gauss(0, 0.85) - exp.penalty
        answers: dict[str, int | str] = {}
        nps = max(0, min(10, round(8.5 + 1.6 * z + rng.gauss(0, 0.6))))
        csat = max(1, min(5, round(4.3 + 0.85 * z + rng.gauss(0, 0.45))))
        ces = max(1, min(7, round(5.5 + 0.8 * z - exp.effort + rng.gauss(0, 0.6))))
        if survey == SUPPORT:
            answers["nps"] = nps
            if rng.random() < 0.95:
                answers["csat"] = csat
            if rng.random() < 0.9:
                answers["ces"] = ces
            if rng.random() < 0.92 and exp.topic:
                answers["topic"] = exp.topic if rng.random() < 0.95 else "Something else"
            mood = "neg" if nps <= 6 else "mid" if nps <= 8 else "pos"
        elif survey == DELIVERY:
            answers["csat"] = csat
            if rng.random() < 0.92:
                answers["ces"] = ces
            mood = "neg" if csat <= 2 else "mid" if csat == 3 else "pos"
        else:
            answers["nps"] = nps
            mood = "neg" if nps <= 6 else "mid" if nps <= 8 else "pos"
        comment = self.comment(mood, exp)
        if comment:
            answers["reason" if survey == PURCHASE else "comment"] = comment
        return answers

    def comment(self, mood: str, exp: _Experience) -> str | None:
        rng = self.rng
        write = self.writer
        channel = exp.context.get("channel")
        if rng.random() >= {"neg": 0.68, "mid": 0.36, "pos": 0.4}[mood]:
            return None
        if mood == "neg":
            if rng.random() < 0.03:  # ticked the wrong end of the scale
                return write.praise(exp.area, exp.details)
            return write.complaint(exp.area, exp.issues, exp.details, channel)
        if mood == "mid":
            return write.mixed(exp.area, exp.issues, exp.details, channel)
        if exp.issues and rng.random() < 0.4:  # happy overall, with a complaint in it
            return write.mixed(exp.area, exp.issues, exp.details, channel)
        if rng.random() < 0.02:
            return write.complaint(exp.area, exp.issues, exp.details, channel)
        return write.praise(exp.area, exp.details)

    # -- the whole history ---------------------------------------------------------------------------------

    def when(self, day: datetime, channel: str) -> datetime:
        rng = self.rng
        hour = (_OFFICE_HOURS if channel in ("phone", "chat", "store") else _ANY_HOUR).draw(rng)
        return day + timedelta(hours=hour, seconds=rng.randrange(3600))

    def answer_delay(self) -> timedelta:
        """Most customers answer within hours, a few days later."""
        roll = self.rng.random()
        low, high = (0.1, 2) if roll < 0.45 else (2, 30) if roll < 0.85 else (30, 120)
        return timedelta(hours=self.rng.uniform(low, high))

    def run(self, responses_per_day: int) -> DemoData:
        rng = self.rng
        data = DemoData(self.start, self.end)
        kinds: dict[str, Callable[[datetime, float, str, str], _Experience]] = {
            SUPPORT: self.support,
            DELIVERY: self.delivery,
            PURCHASE: self.purchase,
        }
        prefixes = {SUPPORT: "SC", DELIVERY: "DL", PURCHASE: "OR"}
        lags = {SUPPORT: (15, 90), DELIVERY: (180, 600), PURCHASE: (1440, 4320)}  # minutes until the invite
        day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < self.end:
            volume = responses_per_day * WEEKDAY[day.weekday()] * rng.gauss(1, 0.08)
            for survey, share in SURVEY_SHARE.items():
                channels = CHANNELS[survey]
                mean_rate = sum(RESPONSE_RATE[c] * w for c, w in channels)
                expected = max(0.0, volume * share / mean_rate)
                for _ in range(int(expected) + (rng.random() < expected % 1)):
                    channel = _CHANNEL[survey].draw(rng)
                    at = self.when(day, channel)
                    created = at + timedelta(minutes=rng.uniform(*lags[survey]))
                    if at < self.start or created >= self.end:
                        continue
                    t = (at - self.start).total_seconds() / self.span
                    customer_id, email, region = self.customer()
                    exp = kinds[survey](at, t, channel, region)
                    responded = None
                    if rng.random() < RESPONSE_RATE[channel]:
                        answered = created + self.answer_delay()
                        if answered < self.end:
                            responded = answered
                    data.invitations.append(
                        PlannedInvitation(
                            survey,
                            created,
                            responded,
                            customer_id,
                            email,
                            self.interaction_id(prefixes[survey]),
                            exp.context,
                        )
                    )
                    if responded is not None:
                        data.responses.append(
                            PlannedResponse(
                                uuid.UUID(int=rng.getrandbits(128), version=4),
                                survey,
                                len(data.invitations) - 1,
                                "email" if rng.random() < 0.4 else "web",
                                responded,
                                exp.context,
                                self.answers(survey, exp),
                            )
                        )
            # Anonymous answers through the public link (a QR code on store receipts).
            expected = volume * PUBLIC_SHARE
            for _ in range(int(expected) + (rng.random() < expected % 1)):
                at = self.when(day, "store") + timedelta(hours=rng.uniform(0.2, 30))
                if not self.start <= at < self.end:
                    continue
                t = (at - self.start).total_seconds() / self.span
                exp = self.purchase(at, t, "store", _REGION.draw(rng))
                context = {**exp.context, "product": None, "agent": None}
                data.responses.append(
                    PlannedResponse(
                        uuid.UUID(int=rng.getrandbits(128), version=4),
                        PURCHASE,
                        None,
                        "web",
                        at,
                        context,
                        self.answers(PURCHASE, exp),
                    )
                )
            day += timedelta(days=1)
        return data


def period(months: int, now: datetime) -> tuple[datetime, datetime]:
    """The demo's history: the last ``months`` months (of 30.44 days) up to ``now``."""
    return now - timedelta(days=round(months * 365.25 / 12)), now


def generate(months: int, responses_per_day: int, now: datetime | None = None) -> DemoData:
    """The demo company's history in memory: the same rows for the same arguments and ``now``."""
    start, end = period(months, now or utcnow())
    return _Generator(random.Random(SEED), start, end).run(responses_per_day)


# -- storing it -------------------------------------------------------------------------------------------


def _department_spec(slug: str, name: str) -> DepartmentSpec:
    head, email = HEADS[slug]
    return DepartmentSpec(
        slug=slug,
        name=name,
        timezone=TIMEZONE,
        digest_schedule=DIGEST_SCHEDULE,
        heads=[HeadSpec(name=head, email=email)],
    )


def _load_surveys(session: Session) -> dict[str, Survey]:
    surveys: dict[str, Survey] = {}
    for name in SURVEY_FILES:
        with as_file(files("feedback.demo") / name) as path:
            survey = load_survey(session, read_survey_file(path))
        surveys[survey.slug] = survey
    return surveys


def _already_seeded(session: Session) -> bool:
    demo = select(Survey.id).where(Survey.slug.in_(SURVEY_SHARE))
    return session.scalar(select(Response.id).where(Response.survey_id.in_(demo)).limit(1)) is not None


def _context_row(context: dict[str, Any], departments: dict[str, int]) -> dict[str, Any]:
    row = {name: context.get(name) for name in CONTEXT_FIELDS}
    row["department_id"] = departments[context["department"]]
    return row


def _store(session: Session, data: DemoData, surveys: dict[str, Survey], departments: dict[str, int]) -> None:
    invitation_rows = []
    for planned in data.invitations:
        _, token_hash = new_token()
        invitation_rows.append(
            {
                "survey_id": surveys[planned.survey].id,
                "token_hash": token_hash,
                "dedup_key": _dedup_key(planned.email, planned.customer_id, planned.interaction_id),
                "email": planned.email,
                "customer_id": planned.customer_id,
                "interaction_id": planned.interaction_id,
                "expires_at": planned.created_at + timedelta(days=INVITATION_DAYS),
                "created_at": planned.created_at,
                "responded_at": planned.responded_at,
                **_context_row(planned.context, departments),
            }
        )
    invitation_ids: list[int] = []
    if invitation_rows:
        # Plain executemany, then read the ids back: RETURNING in parameter order would make SQLite
        # insert one row per statement.
        session.execute(insert(INVITATIONS), invitation_rows)
        survey_ids = {survey.id for survey in surveys.values()}
        ids = {
            (row.survey_id, row.dedup_key): row.id
            for row in session.execute(
                select(Invitation.id, Invitation.survey_id, Invitation.dedup_key).where(
                    Invitation.survey_id.in_(survey_ids)
                )
            )
        }
        invitation_ids = [ids[(row["survey_id"], row["dedup_key"])] for row in invitation_rows]

    question_ids = {(slug, q.key): q.id for slug, s in surveys.items() for q in s.questions}
    kinds = {(slug, q.key): q.kind for slug, s in surveys.items() for q in s.questions}
    sentiments: dict[str, tuple[float, float]] = {}
    response_rows: list[dict[str, Any]] = []
    answer_rows: list[dict[str, Any]] = []
    for planned_response in data.responses:
        scores: dict[str, int | None] = {"nps": None, "csat": None, "ces": None}
        for key, value in planned_response.answers.items():
            kind = kinds[(planned_response.survey, key)]
            row: dict[str, Any] = {
                "response_id": planned_response.id,
                "question_id": question_ids[(planned_response.survey, key)],
                "score": None,
                "choice": None,
                "text": None,
                "polarity": None,
                "subjectivity": None,
                "analyzer": None,
            }
            if kind in scores:
                row["score"] = value
                if scores[kind] is None:  # the first question of each scale counts
                    scores[kind] = int(value)
            elif kind == "choice":
                row["choice"] = value
            else:
                text = str(value)
                if text not in sentiments:
                    sentiments[text] = tuple(score_text(text))  # type: ignore[assignment]
                polarity, subjectivity = sentiments[text]
                row.update(text=text, polarity=polarity, subjectivity=subjectivity, analyzer=ANALYZER)
            answer_rows.append(row)
        index = planned_response.invitation
        response_rows.append(
            {
                "id": planned_response.id,
                "survey_id": surveys[planned_response.survey].id,
                "invitation_id": invitation_ids[index] if index is not None else None,
                "via": planned_response.via,
                "submitted_at": planned_response.submitted_at,
                "idempotency_key": None,
                "request_hash": None,
                **scores,
                **_context_row(planned_response.context, departments),
            }
        )
    if response_rows:
        session.execute(insert(RESPONSES), response_rows)
    if answer_rows:
        session.execute(insert(ANSWERS), answer_rows)


def _fresh_links(
    session: Session, data: DemoData, surveys: dict[str, Survey], departments: dict[str, int], base_url: str
) -> list[tuple[str, str]]:
    """Three unanswered personal links to try, one per survey, each with the context of a recent
    interaction of its kind: (what it is, link)."""
    fresh = (
        (SUPPORT, "support contact, score 9 already ticked", "?nps=9"),
        (DELIVERY, "delivery", ""),
        (PURCHASE, "purchase", ""),
    )
    links = []
    rows = []
    for i, (slug, label, query) in enumerate(fresh):
        recent = next((p.context for p in reversed(data.invitations) if p.survey == slug), None)
        context = (
            _context_row(recent, departments)
            if recent
            else {**dict.fromkeys(CONTEXT_FIELDS), "department_id": surveys[slug].department_id}
        )
        token, token_hash = new_token()
        created = data.end - timedelta(minutes=3 - i)
        interaction = f"TRY-{created:%Y%m%d%H%M%S}-{i}"
        rows.append(
            {
                "survey_id": surveys[slug].id,
                "token_hash": token_hash,
                "dedup_key": _dedup_key("you@example.com", None, interaction),
                "email": "you@example.com",
                "customer_id": None,
                "interaction_id": interaction,
                "created_at": created,
                "expires_at": created + timedelta(days=INVITATION_DAYS),
                "responded_at": None,
                **context,
            }
        )
        links.append((label, link_for(base_url, token) + query))
    session.execute(insert(INVITATIONS), rows)
    return links


def _counts(session: Session) -> dict[str, int]:
    demo = select(Survey.id).where(Survey.slug.in_(SURVEY_SHARE))
    responses = select(Response.id).where(Response.survey_id.in_(demo))

    def count(query: Any) -> int:
        return int(session.scalar(query) or 0)

    return {
        "invitations": count(select(func.count(Invitation.id)).where(Invitation.survey_id.in_(demo))),
        "responses": count(select(func.count(Response.id)).where(Response.survey_id.in_(demo))),
        "comments": count(
            select(func.count())
            .select_from(Answer)
            .where(Answer.response_id.in_(responses), Answer.text.is_not(None))
        ),
    }


def seed_demo(
    session: Session, base_url: str, months: int = 6, responses_per_day: int = 60, now: datetime | None = None
) -> str:
    """Create the demo company in ``session``'s transaction and say what was made (printed by the CLI).

    Safe to run again: once the demo's surveys have responses, it adds nothing and only describes them.
    """
    if months < 1 or responses_per_day < 1:
        raise InvalidInput.on("months" if months < 1 else "responses_per_day", "must be at least 1")
    base_url = base_url.rstrip("/")
    now = (now or utcnow()).astimezone(UTC)
    if _already_seeded(session):
        surveys = {s.slug: s for s in session.scalars(select(Survey).where(Survey.slug.in_(SURVEY_SHARE)))}
        counts = _counts(session)
        lines = [
            f"The {COMPANY} demo is already in this database; nothing was added.",
            f"  {counts['responses']:,} responses ({counts['comments']:,} with a comment) to "
            f"{counts['invitations']:,} invitations in {len(surveys)} surveys.",
            "  API token: create one with `feedback tokens create NAME` (tokens are shown only once).",
        ]
        lines += _public_lines(surveys.values(), base_url)
        lines.append(f"API docs: {base_url}/schema   Start over: `feedback demo --reset` (SQLite).")
        return "\n".join(lines)

    departments = {
        slug: upsert_department(session, _department_spec(slug, name), now).id for slug, name in DEPARTMENTS
    }
    surveys = _load_surveys(session)
    data = generate(months, responses_per_day, now)
    _store(session, data, surveys, departments)
    from feedback.demo.outcomes import plan_outcomes  # the demo's orders and renewals (imports this module)

    outcomes = store_events(session, plan_outcomes(data, now))
    links = _fresh_links(session, data, surveys, departments, base_url)
    token = create_token(session, "demo-admin", Role.ADMIN)
    session.flush()
    rollups.rebuild(session.connection())  # bulk inserts went around the services: count them once
    counts = _counts(session)
    lines = [
        f"Demo company {COMPANY}: an online homeware retailer with stores, a support centre and deliveries.",
        f"  {len(departments)} departments, {len(surveys)} surveys, {counts['invitations']:,} invitations, "
        f"{counts['responses']:,} responses ({counts['comments']:,} with a comment), "
        f"{data.start:%Y-%m-%d} to {data.end:%Y-%m-%d}.",
        f"  {outcomes.stored:,} orders, renewals and cancellations of the customers who answered "
        '(`feedback outcomes show`; the executive overview\'s "Does satisfaction pay?").',
        "",
        f"Admin API token (shown only this once; keep it): {token}",
        f"  try: curl -H 'Authorization: Bearer {token}' {base_url}/api/surveys",
        "",
        "Answer as a customer (personal links, not yet answered):",
        *[f"  {label}: {link}" for label, link in links],
        *_public_lines(surveys.values(), base_url),
        f"API docs: {base_url}/schema",
    ]
    return "\n".join(lines)


def _public_lines(surveys: Any, base_url: str) -> list[str]:
    lines = []
    for survey in sorted(surveys, key=lambda s: s.slug):
        link = public_link(survey, base_url)
        if link:
            lines.append(f"Anonymous public link ({survey.slug}, anyone may answer): {link}")
    return lines

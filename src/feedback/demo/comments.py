"""The demo's phrase bank: customer comments composed from templates, so thousands of them read differently.

Every phrase here was written for the demo company; none is copied from a real data set. A comment is built
from an optional opener, one or two sentences about what happened (an issue, or praise), an optional closer,
then roughened like real typing: some lowercase, missing full stops, the odd typo.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Root causes: what went wrong, and which department owns fixing it.
ISSUE_DEPARTMENT: dict[str, str] = {
    "refund_slow": "billing",
    "charged_twice": "billing",
    "parcel_left_outside": "delivery",
    "late_delivery": "delivery",
    "damaged_item": "delivery",
    "app_login": "digital",
    "checkout_error": "digital",
    "long_wait": "support",
    "transferred": "support",
    "unhelpful": "support",
    "store_stock": "stores",
    "product_quality": "stores",
}

_ISSUES: dict[str, Sequence[str]] = {
    "refund_slow": (
        "Still waiting for my refund after {weeks} weeks.",
        "I returned the {item} {weeks} weeks ago and the refund still hasn't come through.",
        "The refund took {weeks} weeks to reach my account.",
        "I was told 3-5 working days for the refund. It has now been {weeks} weeks.",
        "Returned the {item} straight away but the refund took forever.",
        "Nobody can tell me where my refund is.",
        "Every time I ask about my refund I get a different answer.",
        "You were quick enough to take my money but the refund takes weeks.",
        "Had to chase my refund {times} times before anything happened.",
        "The return was collected on time, then nothing for {weeks} weeks, no refund and no email.",
        "Refund promised within a week, still nothing {weeks} weeks later.",
        "The refund process is far too slow, {weeks} weeks for a {item} I sent back unopened.",
    ),
    "charged_twice": (
        "I was charged twice for the same order.",
        "The payment came out of my account twice and it took ages to get the money back.",
        "Double charged for my {item} order.",
        "You took a payment for an order I had already cancelled.",
        "Two payments on my card statement for one {item}, and nobody could explain why.",
    ),
    "parcel_left_outside": (
        "The courier left my parcel outside the front door in the rain.",
        "Parcel was left on the doorstep without anyone knocking, I was in all day.",
        "The driver left the box by the bins and marked it as delivered.",
        "The delivery photo shows my parcel at somebody else's door.",
        "My {item} was left in the porch in full view of the street.",
        "It was left outside even though I asked for it to be handed to me.",
        "Found the box soaking wet behind the garden gate.",
        "The courier didn't even ring the bell, just dumped the parcel on the step.",
        "Left outside a block of flats with no name on it. Anyone could have taken it.",
        "Third time this month the driver has left my parcel outside instead of knocking.",
    ),
    "late_delivery": (
        "The delivery was {days} days late.",
        "I took the day off work and nobody turned up.",
        "Missed the delivery slot and nobody called to let me know.",
        "Tracking said out for delivery all day, then it just changed to tomorrow.",
        "Waited in from 7am to 9pm and the {item} only arrived the next day.",
        "It came {days} days after the date I was given.",
        "The delivery date kept moving and the {item} turned up {days} days late.",
    ),
    "damaged_item": (
        "The {item} arrived damaged.",
        "The box was crushed and the {item} inside was scratched.",
        "The {item} was broken when I opened it.",
        "Parts were missing from the {item}.",
        "The {item} had a big dent in it, the packaging was torn open.",
    ),
    "app_login": (
        "Since the last app update I can't log in.",
        "The app keeps logging me out after the update.",
        "Login in the app fails with an error, I had to use the website instead.",
        "The app says my password is wrong but the same password works on the website.",
        "Updated the app and now it won't let me sign in at all.",
        "The password reset email never arrives so I'm locked out of the app.",
        "The app crashes as soon as I try to log in.",
        "I can't track my order because the app won't log me in since the update.",
    ),
    "checkout_error": (
        "The website crashed twice at checkout.",
        "The discount code didn't work at checkout.",
        "The payment page kept timing out.",
        "The basket emptied itself when I went to pay.",
    ),
    "long_wait_phone": (
        "I was on hold for {mins} minutes.",
        "Waited {mins} minutes just to speak to someone.",
        "The queue was ridiculous, over {mins} minutes.",
        "Far too long on hold, {mins} minutes of the same music.",
        "Took ages to get through on the phone.",
        "{mins} minutes on hold is not acceptable.",
        "Had to call back twice because the wait was so long.",
    ),
    "long_wait_chat": (
        "I waited {mins} minutes in the chat queue before anyone answered.",
        "The chat took ages to connect.",
        "Long wait for the chat, I nearly gave up.",
        "Sat in the chat queue for {mins} minutes.",
    ),
    "long_wait_email": (
        "It took {reply} to get a reply to my email.",
        "Nobody answered my email for {reply}.",
        "I had to email {times} times before I got an answer.",
        "Very slow to reply to emails.",
    ),
    "transferred": (
        "I was transferred {times} times and had to explain everything again each time.",
        "Passed from one department to another, nobody seemed to own the problem.",
        "Got put through to the wrong team twice.",
        "Every new person asked me for my order number again.",
        "They kept transferring me and then the call dropped.",
        "I spoke to {times} different people and none of them could help.",
        "Transferred around for half an hour before reaching someone who knew about {topic}.",
    ),
    "unhelpful": (
        "The agent didn't seem to understand my problem.",
        "It felt like they were reading from a script.",
        "I was promised a call back that never came.",
        "Nobody could give me a straight answer.",
        "My problem still isn't solved.",
        "I had to contact you again because nothing happened after the first call.",
        "The advice I was given turned out to be wrong.",
    ),
    "store_stock": (
        "The website said the {item} was in stock at {store} but they didn't have it.",
        "Only one till open and a long queue at {store}.",
        "Couldn't find anyone to help me in the store.",
        "Half the shelves were empty at {store}.",
        "Drove to {store} for a {item} that was shown as available and it wasn't there.",
    ),
    "product_quality": (
        "The {item} looks nothing like the pictures.",
        "Quality of the {item} is poor for the price.",
        "Found the same {item} cheaper elsewhere.",
        "The {item} started falling apart after a week.",
        "The colour of the {item} was completely different from the website.",
    ),
}

# Dissatisfaction without a root cause, by area (what a detractor writes when nothing specific went wrong).
_GENERIC: dict[str, Sequence[str]] = {
    "delivery": (
        "No updates about when it would arrive.",
        "The driver was quite rude.",
        "Far too much packaging for a small item.",
        "Not the experience I expected.",
        "Had to rearrange my whole day around the delivery window.",
    ),
    "online": (
        "Prices have gone up a lot.",
        "Not much choice any more.",
        "Delivery charges are too high.",
        "Not the experience I expected.",
        "The website is slow and hard to search.",
    ),
    "store": (
        "Prices have gone up a lot.",
        "Staff seemed more interested in chatting to each other.",
        "The store was messy and hard to find things in.",
        "Not the experience I expected.",
    ),
}
_SUPPORT_AREAS = ("support", "billing", "digital")

_ISSUE_SHORT: dict[str, Sequence[str]] = {
    "refund_slow": ("refund still not here", "slow refund", "where is my refund??", "still no refund"),
    "charged_twice": ("charged twice!", "double payment taken"),
    "parcel_left_outside": (
        "parcel left outside again",
        "left on the doorstep, not happy",
        "left in the rain",
    ),
    "late_delivery": ("late again", "delivery was late", "{days} days late"),
    "damaged_item": ("arrived damaged", "broken {item}"),
    "app_login": ("app login broken", "cant log in to the app", "fix the app"),
    "checkout_error": ("checkout kept failing", "website crashed"),
    "long_wait_phone": ("too long on hold", "long wait", "{mins} mins on hold"),
    "long_wait_chat": ("slow chat", "long wait"),
    "long_wait_email": ("slow reply", "took days to answer"),
    "transferred": ("transferred too many times", "passed around"),
    "unhelpful": ("not resolved", "useless", "no help at all"),
    "store_stock": ("nothing in stock", "out of stock"),
    "product_quality": ("poor quality", "not as described"),
}

_PRAISE: dict[str, Sequence[str]] = {
    "support": (
        "{agent} was really helpful and sorted it straight away.",
        "{agent} was lovely and very patient with me.",
        "Sorted in one call, thank you.",
        "Quick and easy, the agent knew exactly what to do.",
        "Very friendly and polite, my problem was solved in minutes.",
        "Really good service, {agent} went above and beyond.",
        "Got through quickly and the issue was fixed.",
        "Clear explanation of what happens next.",
        "The chat was fast and easy.",
        "{agent} listened, understood the problem and fixed it.",
        "Excellent customer service, I was kept informed all the way.",
        "Much better than I expected, no waiting and a real answer.",
        "{agent} called me back exactly when promised.",
        "Helpful, knowledgeable and quick.",
    ),
    "billing": (
        "The refund was in my account within two days.",
        "The payment problem was sorted quickly.",
        "{agent} explained the charges clearly and refunded the difference.",
        "Easy return and a fast refund.",
    ),
    "digital": (
        "{agent} talked me through resetting the app, works perfectly now.",
        "The app is easy to use and tracking is great.",
        "Website is quick and easy to order from.",
        "Login problem fixed in a couple of minutes.",
    ),
    "delivery": (
        "Arrived a day early, brilliant.",
        "The driver was friendly and carried the {item} inside for me.",
        "On time and well packaged.",
        "Tracking was spot on, I knew exactly when it would arrive.",
        "Delivered in the slot they gave me, no fuss.",
        "The two drivers were careful and polite and even took the packaging away.",
        "Next day delivery as promised.",
        "Text message with a one hour slot, and they came right on time.",
        "Really careful with my {item}, not a scratch on it.",
        "Driver phoned ahead to say he was ten minutes away. Perfect.",
    ),
    "online": (
        "Great quality {item} for a fair price.",
        "Easy to order online and a good choice.",
        "Love my new {item}.",
        "Good prices and the website is easy to use.",
        "Always find what I need.",
        "I've shopped here for years and never had a problem.",
        "The {item} is even nicer than in the pictures.",
        "Good value and quick delivery.",
        "Lovely {item}, exactly as described.",
        "Ordering on the app took two minutes.",
    ),
    "store": (
        "Great quality {item} for a fair price.",
        "The staff at {store} were really helpful.",
        "{agent} at {store} helped me choose the right {item}.",
        "Love my new {item}.",
        "Always find what I need.",
        "I've shopped here for years and never had a problem.",
        "Friendly staff, clean store, easy parking.",
        "Lovely {item}, and I could take it home the same day.",
        "No queue at the tills and a really friendly welcome.",
    ),
}

_PRAISE_SHORT = (
    "fine",
    "quick and easy thanks",
    "all good",
    "great service",
    "very helpful",
    "no complaints",
    "spot on",
    "thank you",
    "good",
    "easy",
    "excellent",
    "great :)",
    "perfect",
    "Thanks!",
    "very good",
    "happy",
    "brilliant service",
    "nice and quick",
)
_NEUTRAL_SHORT = (
    "ok",
    "fine",
    "average",
    "could be better",
    "it was alright",
    "nothing special",
    "okay I guess",
    "got there in the end",
    "so-so",
)
_NEG_OPENERS = (
    "Very disappointed.",
    "Not impressed.",
    "Honestly, poor service.",
    "Terrible experience.",
    "Where do I start?",
    "Not happy at all.",
    "Really poor.",
    "Awful.",
    "Shocking.",
)
_NEG_CLOSERS = (
    "Please sort this out.",
    "Not good enough.",
    "I won't be ordering again.",
    "Really frustrating.",
    "This is the second time this has happened.",
    "Shocking service.",
    "Very poor.",
    "Sort it out!",
    "I expected better from you.",
    "Poor communication all round.",
    "Considering going elsewhere.",
    "Not acceptable.",
)
_POS_OPENERS = (
    "Great service!",
    "Excellent.",
    "Brilliant!",
    "Very happy.",
    "Really impressed.",
    "Fantastic.",
)
_POS_CLOSERS = (
    "Thank you!",
    "Thanks.",
    "Will definitely shop again.",
    "Keep it up.",
    "Many thanks",
    "10/10",
    "Would recommend.",
    "Thanks again to the team.",
    "Very pleased.",
)
_MIXED_OPENERS = ("It was ok.", "Fine in the end.", "Got there eventually.", "Mostly good.", "Not bad.")
_BUT = (" but ", ", but ", ". However, ", ". Only thing: ", " - shame that ")

# Praise that cannot sit beside an issue in one comment ("sorted in one call, but I was transferred").
_CLASHES: dict[str, tuple[str, ...]] = {
    "unhelpful": (
        "sorted",
        "fixed",
        "solved",
        "knew exactly",
        "knowledgeable",
        "real answer",
        "when promised",
    ),
    "transferred": ("one call", "straight away", "minutes", "knew exactly", "quick"),
    "long_wait": ("quick", "no waiting", "fast", "got through quickly", "minutes"),
    "late_delivery": ("early", "on time", "slot", "next day", "as promised", "spot on", "quick"),
    "parcel_left_outside": ("carried", "phoned ahead", "careful"),
    "damaged_item": ("careful", "well packaged", "not a scratch"),
    "refund_slow": ("refund", "quickly"),
    "app_login": ("app", "login", "easy to use"),
    "checkout_error": ("easy to order", "easy to use", "two minutes"),
    "product_quality": ("quality", "lovely", "love", "nicer", "exactly as described"),
    "store_stock": ("always find", "no queue"),
}

_MISSPELLINGS = {
    "received": "recieved",
    "definitely": "definately",
    "delivery": "delivary",
    "really": "realy",
    "waiting": "wating",
    "which": "wich",
    "until": "untill",
    "because": "becuase",
    "their": "there",
    "separate": "seperate",
    "disappointed": "dissapointed",
    "experience": "experiance",
    "helpful": "helpfull",
    "professional": "proffesional",
    "polite": "polit",
    "minutes": "mins",
}
_WORD = re.compile(r"[A-Za-z]{5,}")
_TOPIC_WORDS = ("my refund", "my order", "the app", "a delivery", "my account")


@dataclass(frozen=True)
class Details:
    """Facts about one interaction that a comment may mention."""

    agent: str | None = None  # e.g. "Priya S."; comments use the first name
    item: str = "order"
    store: str = "the store"
    wait_s: int | None = None
    late_days: int | None = None


class CommentWriter:
    """Writes customer comments with its own random generator (deterministic for a given seed)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # -- building blocks ---------------------------------------------------------------------------------

    def _fill(self, template: str, details: Details) -> str:
        rng = self.rng
        values: Mapping[str, object] = {
            "agent": (details.agent or "The agent").split()[0],
            "item": details.item,
            "store": details.store,
            "weeks": rng.choice((2, 3, 3, 4, 5, 6, "three", "four", "six")),
            "days": details.late_days or rng.choice((2, 3, 4, 5, "three", "four")),
            "mins": max(5, round((details.wait_s or rng.randint(1200, 3600)) / 60)),
            "times": rng.choice((3, 4, "three", "four", "five")),
            "reply": _duration(details.wait_s or rng.randint(2, 5) * 86400),
            "topic": rng.choice(_TOPIC_WORDS),
        }
        text = template.format_map(values)
        return text[0].upper() + text[1:] if text else text

    def _issue_key(self, issue: str, channel: str | None) -> str:
        if issue == "long_wait":
            return f"long_wait_{channel if channel in ('phone', 'chat', 'email') else 'phone'}"
        return issue

    def issue_sentence(self, issue: str, details: Details, channel: str | None = None) -> str:
        return self._fill(self.rng.choice(_ISSUES[self._issue_key(issue, channel)]), details)

    def praise_sentence(self, area: str, details: Details, against: Sequence[str] = ()) -> str:
        """Praise for ``area`` that does not contradict the ``against`` issues in the same comment."""
        templates = list(_PRAISE[area])
        if details.agent is None:
            templates = [t for t in templates if "{agent}" not in t]
        clashes = [word for issue in against for word in _CLASHES.get(issue, ())]
        if clashes:
            templates = [t for t in templates if not any(w in t.lower() for w in clashes)] or templates
        return self._fill(self.rng.choice(templates), details)

    # -- whole comments ----------------------------------------------------------------------------------

    def complaint(
        self, area: str, issues: Sequence[str], details: Details, channel: str | None = None
    ) -> str:
        """A negative comment about ``issues`` (generic dissatisfaction when there is none)."""
        rng = self.rng
        parts: list[str] = []
        if rng.random() < 0.35:
            parts.append(rng.choice(_NEG_OPENERS))
        if not issues and area not in _SUPPORT_AREAS:
            parts.append(rng.choice(_GENERIC[area]))
            if rng.random() < 0.5:
                parts.append(rng.choice(_NEG_CLOSERS))
            return self._roughen(" ".join(parts))
        issues = list(issues) or ["unhelpful"]
        if rng.random() < 0.15:
            short = rng.choice(_ISSUE_SHORT[self._issue_key(issues[0], channel)])
            return self._roughen(self._fill(short, details))
        parts.extend(self.issue_sentence(issue, details, channel) for issue in issues[:2])
        if area in _SUPPORT_AREAS and rng.random() < 0.25:
            parts.append(self.issue_sentence("unhelpful", details, channel))
        if rng.random() < 0.5:
            parts.append(rng.choice(_NEG_CLOSERS))
        return self._roughen(" ".join(dict.fromkeys(parts)))

    def praise(self, area: str, details: Details) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            return self._roughen(rng.choice(_PRAISE_SHORT))
        parts: list[str] = []
        if rng.random() < 0.3:
            parts.append(rng.choice(_POS_OPENERS))
        parts.append(self.praise_sentence(area, details))
        if rng.random() < 0.25:
            parts.append(self.praise_sentence(area, details))
        if rng.random() < 0.4:
            parts.append(rng.choice(_POS_CLOSERS))
        return self._roughen(" ".join(dict.fromkeys(parts)))

    def mixed(self, area: str, issues: Sequence[str], details: Details, channel: str | None = None) -> str:
        """Some good, some bad: a passive's comment, or a promoter's with a complaint in it."""
        rng = self.rng
        if not issues:
            if rng.random() < 0.5:
                return self._roughen(rng.choice(_NEUTRAL_SHORT))
            return self._roughen(f"{rng.choice(_MIXED_OPENERS)} {self.praise_sentence(area, details)}")
        good = self.praise_sentence(area, details, against=issues).rstrip(".!")
        bad = self.issue_sentence(issues[0], details, channel)
        joint = rng.choice(_BUT)
        text = f"{good}{joint}{bad if joint.startswith('.') else _lower_first(bad)}"
        if rng.random() < 0.3:
            text = f"{bad} {good}." if rng.random() < 0.5 else f"{rng.choice(_MIXED_OPENERS)} {text}"
        return self._roughen(text)

    # -- real typing -------------------------------------------------------------------------------------

    def _roughen(self, text: str) -> str:
        rng = self.rng
        if rng.random() < 0.06:
            text = self._typo(text)
        roll = rng.random()
        if roll < 0.14:
            text = text.lower()
        elif roll < 0.16:
            text = text.upper() if len(text) < 40 else text
        if rng.random() < 0.22:
            text = text.rstrip(".")
        elif text.endswith(".") and rng.random() < 0.04:
            text = text[:-1] + "!!"
        if rng.random() < 0.03:
            text = text.replace(". ", ".. ", 1)
        return text

    def _typo(self, text: str) -> str:
        rng = self.rng
        for right, wrong in _MISSPELLINGS.items():
            if right in text and rng.random() < 0.5:
                return text.replace(right, wrong, 1)
        words = list(_WORD.finditer(text))
        if not words:
            return text
        word = rng.choice(words)
        i = rng.randrange(1, len(word.group()) - 2)
        w = word.group()
        swapped = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
        return text[: word.start()] + swapped + text[word.end() :]


def _duration(seconds: int) -> str:
    hours = seconds / 3600
    return f"{round(hours)} hours" if hours < 36 else f"{round(hours / 24)} days"


def _lower_first(text: str) -> str:
    if text.startswith(("I ", "I'", "{")) or (len(text) > 1 and text[1].isupper()):
        return text
    return text[0].lower() + text[1:]

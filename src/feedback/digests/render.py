"""Digests and alerts as e-mail (HTML and text, from templates/digests/) and as webhook JSON (Slack blocks).

The templates are rendered by this module's own Jinja environment (autoescaped HTML, plain text as is);
nothing here imports the web layer. Images are referenced through ``image_src(cid)``: ``cid:...`` in an
e-mail, a ``data:`` URI in a preview.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from feedback.digests.content import Digest, digest_to_json
from feedback.digests.links import LABELS
from feedback.digests.numbers import Headline

MARK_LABELS = {
    "reopened": "reopened",
    "overdue": "past deadline",
    "new": "new",
    "growing": "growing",
    "recurring": "recurring",
}
MARK_COLORS = {
    "reopened": "#be123c",
    "overdue": "#b45309",
    "new": "#1d4ed8",
    "growing": "#7c3aed",
    "recurring": "#0e7490",
}
ACTION_LABELS = list(LABELS.items())
ADVERBS = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
DIGITS = {"nps": 0, "csat": 0, "ces": 1, "dissatisfied": 0, "volume": 0}
UNITS = {"csat": "%", "dissatisfied": "%"}


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _value(h: Headline) -> str:
    if h.value is None:
        return "-"
    text = f"{h.value:+,.0f}" if h.metric == "nps" else _num(h.value, DIGITS.get(h.metric, 1))
    return text + UNITS.get(h.metric, "")


def _change(h: Headline) -> str:
    if h.change is None:
        return "no earlier figure"
    digits = DIGITS.get(h.metric, 1)
    if round(h.change, digits) == 0:
        return "unchanged"
    arrow = "▲" if h.change > 0 else "▼"
    return f"{arrow} {h.change:+,.{digits}f} vs the period before"


def _day(moment: datetime | None, tz: str = "UTC") -> str:
    return "?" if moment is None else f"{moment.astimezone(ZoneInfo(tz)):%-d %b %Y}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("feedback", "templates/digests"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=_num, value=_value, change=_change, day=_day, mark_label=MARK_LABELS.get, adverb=ADVERBS.get
    )
    return env


ENV = _environment()


@dataclass(frozen=True)
class Message:
    subject: str
    html: str
    text: str


def subject_of(d: Digest) -> str:
    nps = next((h for h in d.headline if h.metric == "nps" and h.value is not None), None)
    score = f", NPS {nps.value:+.0f}" if nps is not None and nps.value is not None else ""
    if d.quiet:
        return f"{d.department_name}: nothing new ({d.period_label}{score})"
    count = len(d.items)
    problems = f"{count} problem{'' if count == 1 else 's'}"
    return f"{d.department_name}: {problems} to look at ({d.period_label}{score})"


def cid_src(cid: str) -> str:
    return f"cid:{cid}"


def data_uri_src(images: Mapping[str, bytes]) -> Callable[[str], str]:
    def src(cid: str) -> str:
        return "data:image/png;base64," + base64.b64encode(images.get(cid, b"")).decode()

    return src


def render_digest(d: Digest, link_days: int, image_src: Callable[[str], str] = cid_src) -> Message:
    subject = subject_of(d)
    context: dict[str, Any] = {
        "d": d,
        "subject": subject,
        "image_src": image_src,
        "mark_labels": MARK_LABELS,
        "mark_colors": MARK_COLORS,
        "action_labels": ACTION_LABELS,
        "link_days": link_days,
        "small_note": any(
            h.small_sample and h.value is not None and h.metric != "volume" for h in d.headline
        ),
    }
    html = ENV.get_template("digest.html").render(context)
    text = ENV.get_template("digest.txt").render(context)
    return Message(subject, html, text)


def render_alert(
    title: str, summary: str, verbatims: list[str], links: dict[str, str], dashboard_url: str
) -> Message:
    context: dict[str, Any] = {
        "title": title,
        "summary": summary,
        "verbatims": verbatims,
        "links": links,
        "dashboard_url": dashboard_url,
        "action_labels": ACTION_LABELS,
    }
    return Message(
        title,
        ENV.get_template("alert.html").render(context),
        ENV.get_template("alert.txt").render(context),
    )


# -- webhooks: Slack-compatible blocks ----------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Text safe inside Slack mrkdwn (which reads &, < and > as markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _buttons(links: Mapping[str, str]) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": label}, "url": links[action]}
            for action, label in ACTION_LABELS
            if links.get(action)
        ],
    }


def digest_payload(d: Digest) -> dict[str, Any]:
    """The webhook body: ``text`` (fallback), ``blocks`` (Slack Block Kit) and the digest itself."""
    subject = subject_of(d)
    fields = [
        {"type": "mrkdwn", "text": f"*{_mrkdwn(h.label)}*\n{_value(h)} ({_change(h)})"} for h in d.headline
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
        {"type": "section", "fields": fields[:10]} if fields else _section("No figures for this period."),
    ]
    if d.quiet:
        blocks.append(_section(f"Nothing new this {d.grain}."))
    for item in d.items:
        lines = [
            f"*{item.rank}. {_mrkdwn(item.name)}*  _{', '.join(MARK_LABELS[m] for m in item.marks)}_",
            _mrkdwn(item.reason) + ".",
        ]
        if item.points_lost is not None:
            lines.append(
                f"{item.count:,} items, costs {item.points_lost:.1f} {(item.points_metric or '').upper()} pts"
            )
        lines += [f"> {_mrkdwn(v)}" for v in item.verbatims]
        blocks.append({"type": "divider"})
        blocks.append(_section("\n".join(lines)))
        if item.links:
            blocks.append(_buttons(item.links))
    if d.more:
        blocks.append(_section(f"{d.more} more: <{d.dashboard_url}|see the dashboard>"))
    for v in d.verified:
        blocks.append(_section(f":white_check_mark: Fix verified: *{_mrkdwn(v.name)}*"))
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"<{d.dashboard_url}|Open the live dashboard>"}],
        }
    )
    return {"text": subject, "blocks": blocks[:50], "digest": digest_to_json(d)}


def alert_payload(
    title: str,
    summary: str,
    verbatims: list[str],
    links: dict[str, str],
    dashboard_url: str,
    detail: dict[str, Any],
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        _section(_mrkdwn(summary) + "".join(f"\n> {_mrkdwn(v)}" for v in verbatims)),
    ]
    if links:
        blocks.append(_buttons(links))
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"<{dashboard_url}|Open the live dashboard>"}],
        }
    )
    return {"text": f"{title}: {summary}", "blocks": blocks, "alert": detail}

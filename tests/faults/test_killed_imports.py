"""Bulk imports killed with SIGKILL half-way, then run again: nothing lost, nothing twice, no half chunk.

Invitations are all-or-nothing (one transaction: a killed import leaves no invitation and no links file);
mentions commit whole chunks, each insert-if-absent (a rerun stores the rest, each row once)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.models import Invitation, Mention
from feedback.tokens import hash_token
from tests import factories
from tests.faults import cli

INVITEES = 200_000
MENTIONS = 20_000
MENTION_CHUNK = 500


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_invitations_import_killed_half_way(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    factories.survey(sessions)
    people = tmp_path / "people.csv"
    with people.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "interaction_id", "channel"])
        writer.writerows([f"p{i}@example.com", f"call-{i}", "phone"] for i in range(INVITEES))
    links = tmp_path / "links.csv"
    args = ["invitations", "import", "support-followup", str(people), "--links", str(links)]
    env = cli.environment(database_url)

    def two_chunks_stored() -> bool:  # the links of stored chunks go to a temporary file as they are stored
        partial = list(tmp_path.glob(".links-*.csv"))
        return bool(partial) and partial[0].stat().st_size > 10_000 * 60

    cli.kill_when(cli.start(args, env), two_chunks_stored)
    assert count(sessions, Invitation) == 0  # all or nothing: the killed import's transaction is gone
    assert not links.exists()  # and no links were handed out

    again = cli.run(args, env)
    assert again.returncode == 0, again.stderr
    assert f"{INVITEES} invited, 0 already invited" in again.stdout
    assert count(sessions, Invitation) == INVITEES
    with links.open(newline="") as src:
        rows = list(csv.DictReader(src))
    assert len(rows) == INVITEES and len({r["email"] for r in rows}) == INVITEES
    with sessions() as session:
        stored = set(session.scalars(select(Invitation.token_hash)))
    assert {hash_token(r["link"].rsplit("/", 1)[1]) for r in rows} == stored  # every link works, once

    third = cli.run(args, env)
    assert f"0 invited, {INVITEES} already invited" in third.stdout
    assert count(sessions, Invitation) == INVITEES


def test_mentions_import_killed_half_way(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    posts = tmp_path / "posts.csv"
    with posts.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "body", "date"])
        writer.writerows(
            [f"post-{i}", f"order {i} arrived late and the box was damaged, number {i}", "2026-11-01"]
            for i in range(MENTIONS)
        )
    args = [
        "mentions", "import", str(posts), "--source", "reviews",
        "--map", "source_id=id", "--map", "text=body", "--map", "posted_at=date",
        "--chunk-size", str(MENTION_CHUNK), "--workers", "0",
    ]  # fmt: skip
    env = cli.environment(database_url)
    cli.kill_when(cli.start(args, env), lambda: count(sessions, Mention) >= 4 * MENTION_CHUNK)
    stored = count(sessions, Mention)
    assert 0 < stored < MENTIONS
    assert stored % MENTION_CHUNK == 0  # whole chunks only: the one being written when killed is not there

    again = cli.run(args, env)
    assert again.returncode == 0, again.stderr
    assert count(sessions, Mention) == MENTIONS
    with sessions() as session:
        distinct = session.scalar(select(func.count(func.distinct(Mention.source_id))))
    assert distinct == MENTIONS
    third = cli.run(args, env)
    assert third.returncode == 0 and count(sessions, Mention) == MENTIONS

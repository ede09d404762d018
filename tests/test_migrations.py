"""The real Alembic migrations build the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from feedback.db import (
    alembic_config,
    compared_on,
    current_revision,
    head_revision,
    make_engine,
    upgrade_database,
)
from feedback.models import Base
from feedback.tokens import hash_token


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_object": compared_on(connection.dialect.name)},
            ),
            Base.metadata,
        )
    engine.dispose()
    assert diff == [], f"models and migrations disagree; generate a migration: {diff}"


def test_empty_database_upgrades_to_head_and_back(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "base")
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade_database(database_url)
    assert current_revision(database_url) == head_revision()
    upgrade_database(database_url)  # a second upgrade at deploy time is harmless
    engine = make_engine(database_url)
    assert {"surveys", "questions", "invitations", "responses", "answers", "api_tokens"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_invitations_keep_their_links_through_the_token_index_migration(database_url: str) -> None:
    """0018 turns the token hash's unique constraint into a unique index (SQLite copies the table): the rows,
    their hashes and the uniqueness survive, both ways."""
    config = alembic_config(database_url)
    command.downgrade(config, "0017")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO departments (slug, name, created_at) "
                "VALUES ('support', 'Support', CURRENT_TIMESTAMP)"
            )
        )
        department = connection.scalar(text("SELECT id FROM departments"))
        connection.execute(
            text(
                "INSERT INTO surveys "
                "(slug, title, intro, thank_you, department_id, status, created_at, updated_at) "
                "VALUES ('s', 'S', '', '', :department, 'open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"department": department},
        )
        survey = connection.scalar(text("SELECT id FROM surveys"))
        connection.execute(
            text(
                "INSERT INTO invitations (survey_id, token_hash, dedup_key, created_at) "
                "VALUES (:survey, :hash, 'k1', CURRENT_TIMESTAMP)"
            ),
            {"survey": survey, "hash": hash_token("a-token")},
        )
    engine.dispose()
    for step in ("head", "0017", "head"):
        (command.upgrade if step == "head" else command.downgrade)(config, step)
        engine = make_engine(database_url)
        with engine.connect() as connection:
            found = connection.scalar(
                text("SELECT dedup_key FROM invitations WHERE token_hash = :hash"),
                {"hash": hash_token("a-token")},
            )
            assert found == "k1"
            connection.rollback()
            with pytest.raises(IntegrityError), connection.begin():
                connection.execute(
                    text(
                        "INSERT INTO invitations (survey_id, token_hash, dedup_key, created_at) "
                        "VALUES (:survey, :hash, 'k2', CURRENT_TIMESTAMP)"
                    ),
                    {"survey": survey, "hash": hash_token("a-token")},
                )
        engine.dispose()

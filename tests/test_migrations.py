"""The real Alembic migrations build the schema the models describe, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from feedback.db import (
    alembic_config,
    compared_on,
    current_revision,
    head_revision,
    make_engine,
    upgrade_database,
)
from feedback.models import Base


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

"""Tokens drawn in batches are the same kind as single ones: unguessable, URL-safe, hashed alike."""

from __future__ import annotations

import itertools
import os
import re

import pytest

from feedback.services import tokens
from feedback.services.tokens import hash_token, new_token, token_stream


def test_a_token_stream_gives_distinct_tokens_of_new_tokens_form_with_their_hashes() -> None:
    drawn = list(itertools.islice(token_stream(batch=100), 250))  # across batch boundaries
    single, _ = new_token()
    assert len({token for token, _ in drawn}) == 250
    for token, digest in drawn:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token) and len(token) == len(single) == 32
        assert digest == hash_token(token)


def test_a_token_stream_asks_the_operating_system_once_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    system_urandom = os.urandom

    def urandom(size: int) -> bytes:
        calls.append(size)
        return system_urandom(size)

    monkeypatch.setattr(tokens.os, "urandom", urandom)
    list(itertools.islice(token_stream(nbytes=24, batch=1024), 2500))
    assert calls == [24 * 1024] * 3

"""Link and API tokens: unguessable, URL-safe, stored only as their hash."""

from __future__ import annotations

import re

from feedback.tokens import hash_token, new_token, new_tokens


def test_tokens_drawn_in_bulk_are_like_single_ones() -> None:
    bulk = list(new_tokens(1000))
    single = new_token()
    assert len(bulk) == 1000 and len({token for token, _ in bulk}) == 1000
    assert {len(token) for token, _ in bulk} == {len(single[0])} == {32}
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", token) for token, _ in bulk)
    assert all(token_hash == hash_token(token) for token, token_hash in bulk)
    odd = list(new_tokens(10, nbytes=16))  # not whole groups of 3 bytes: each encoded on its own
    assert {len(token) for token, _ in odd} == {len(new_token(16)[0])} == {22}
    assert all(token_hash == hash_token(token) for token, token_hash in odd)

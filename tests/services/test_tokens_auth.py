"""Deterministic tokens and JWT verification."""

from __future__ import annotations

import time

import jwt
import pytest

from services.common.auth import AuthError, mint, verify
from services.common.tokens import generate

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_tokens_are_deterministic_per_model_prompt_seed() -> None:
    assert generate("m", "hello", 1, 8) == generate("m", "hello", 1, 8)
    assert generate("m", "hello", 1, 8) != generate("m", "hello", 2, 8)
    assert generate("m", "hello", 1, 8) != generate("other", "hello", 1, 8)


def test_shorter_max_tokens_is_a_prefix_and_only_first_token_lacks_a_space() -> None:
    tokens = generate("m", "p", 0, 6)
    assert generate("m", "p", 0, 3) == tokens[:3]
    assert not tokens[0].startswith(" ") and all(t.startswith(" ") for t in tokens[1:])


def test_valid_token_yields_claims() -> None:
    claims = verify(f"Bearer {mint(SECRET, 'alice', 'acme', admin=True)}", SECRET)
    assert (claims.sub, claims.tenant, claims.admin) == ("alice", "acme", True)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("Basic abc", "malformed_token"),
        ("Bearer not-a-jwt", "malformed_token"),
        (f"Bearer {mint('wrong-secret-but-also-long-enough-for-hs256', 'a', 't')}", "bad_signature"),
        (f"Bearer {mint(SECRET, 'a', 't', ttl=-60)}", "token_expired"),
        (f"Bearer {jwt.encode({'sub': 'a', 'exp': int(time.time()) + 60}, SECRET)}", "malformed_token"),
    ],
)
def test_each_auth_problem_is_named(header: str | None, code: str) -> None:
    with pytest.raises(AuthError) as caught:
        verify(header, SECRET)
    assert caught.value.code == code

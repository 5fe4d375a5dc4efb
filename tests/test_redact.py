"""Secrets never reach logs or saved artifacts."""

from harness import redact


def test_secret_values_bearer_tokens_and_jwts_are_masked() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    out = redact.text(f"JWT_SECRET=hunter2x Authorization: Bearer abc.def token={jwt}", ["hunter2x"])
    assert "hunter2x" not in out and "abc.def" not in out and jwt not in out
    assert "JWT_SECRET=***" in out

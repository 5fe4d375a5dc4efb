"""Secrets never reach logs or saved artifacts: the environment's redactor masks them."""

from harness.analysis.redact import Redactor


def test_secret_values_bearer_tokens_and_jwts_are_masked() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    out = Redactor(["hunter2x"]).text(f"JWT_SECRET=hunter2x Authorization: Bearer abc.def token={jwt}")
    assert "hunter2x" not in out and "abc.def" not in out and jwt not in out

"""The redactor's quick pre-check must never let a secret through that a pattern would have masked."""

from __future__ import annotations

import pytest

from harness.analysis.redact import MASK, redact

SECRETS = [
    "Authorization: Basic dXNlcjpwYXNz",
    "AUTHORIZATION=abc123xyz",
    "headers {'Authorization': 'Token abcdef'}",
    "got BEARER abc.def.ghi from the proxy",
    "token eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl in the log",
    "PASSWORD=hunter22",
    "Passwd: hunter22",
    "client_secret=s3cr3tvalue",
    "API-KEY: k-123456",
    "apiKey=k-123456",
    "Access_Token: tok-123456",
    "refresh-token=tok-654321",
]


@pytest.mark.parametrize("text", SECRETS)
def test_every_shape_a_pattern_masks_is_still_masked(text: str) -> None:
    assert MASK in redact(text), text


def test_text_without_any_secret_word_is_returned_as_is() -> None:
    text = "AssertionError: expected 200 got 500\n  File \"t.py\", line 3"
    assert redact(text) is text

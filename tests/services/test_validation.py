"""Inference request validation."""

from __future__ import annotations

from typing import Any

import pytest

from services.queen.validation import ValidationError, unchecked, validate

MODELS = {"tinyllama"}
GOOD = {"model": "tinyllama", "prompt": "hi", "max_tokens": 4}


def check(body: Any) -> tuple[str, str | None]:
    with pytest.raises(ValidationError) as caught:
        validate(body, MODELS, max_prompt_chars=10)
    return caught.value.code, caught.value.field


def test_valid_body_with_defaults() -> None:
    req = validate(dict(GOOD), MODELS, max_prompt_chars=10)
    assert (req.model, req.max_tokens, req.stream, req.seed, req.run_async) == ("tinyllama", 4, False, 0, False)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"model": "gpt-9"}, ("unknown_model", "model")),
        ({"max_tokens": 0}, ("out_of_range", "max_tokens")),
        ({"max_tokens": 2049}, ("out_of_range", "max_tokens")),
        ({"prompt": "   "}, ("empty_prompt", "prompt")),
        ({"prompt": "x" * 11}, ("prompt_too_long", "prompt")),
        ({"max_tokens": "4"}, ("invalid_type", "max_tokens")),
        ({"max_tokens": True}, ("invalid_type", "max_tokens")),
        ({"prompt": 5}, ("invalid_type", "prompt")),
        ({"stream": "yes"}, ("invalid_type", "stream")),
        ({"seed": 1.5}, ("invalid_type", "seed")),
    ],
)
def test_bad_values_are_named(change: dict[str, Any], expected: tuple[str, str]) -> None:
    assert check({**GOOD, **change}) == expected


@pytest.mark.parametrize("missing", ["model", "prompt", "max_tokens"])
def test_missing_fields_are_named(missing: str) -> None:
    body = {k: v for k, v in GOOD.items() if k != missing}
    assert check(body) == ("missing_field", missing)


def test_non_object_body() -> None:
    assert check([1, 2]) == ("invalid_body", None)


def test_skip_validation_switch_accepts_what_validation_rejects() -> None:
    req = unchecked({"model": "tinyllama", "prompt": "", "max_tokens": 0})
    assert (req.prompt, req.max_tokens) == ("", 0)

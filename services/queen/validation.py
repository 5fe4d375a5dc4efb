"""Validation of ``POST /v1/inference`` bodies into an InferenceRequest."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any


class ValidationError(Exception):
    """A 400: ``code`` says what is wrong, ``field`` where."""

    def __init__(self, code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


@dataclass(frozen=True)
class InferenceRequest:
    """A validated inference request."""

    model: str
    prompt: str
    max_tokens: int
    stream: bool = False
    seed: int = 0
    run_async: bool = False


_TYPES: dict[str, tuple[type, str]] = {
    "model": (str, "a string"),
    "prompt": (str, "a string"),
    "max_tokens": (int, "an integer"),
    "stream": (bool, "a boolean"),
    "seed": (int, "an integer"),
    "async": (bool, "a boolean"),
}
REQUIRED = ("model", "prompt", "max_tokens")


def validate(
    body: Any, models: Collection[str], max_prompt_chars: int, max_tokens_limit: int = 2048
) -> InferenceRequest:
    """Check shape, types, then values; raise ValidationError on the first problem."""
    if not isinstance(body, dict):
        raise ValidationError("invalid_body", None, "body must be a JSON object")
    for name in REQUIRED:
        if name not in body:
            raise ValidationError("missing_field", name, f"'{name}' is required")
    for name, (kind, label) in _TYPES.items():
        value = body.get(name)
        if (
            name in body
            and value is not None
            and (not isinstance(value, kind) or (kind is int and isinstance(value, bool)))
        ):
            raise ValidationError("invalid_type", name, f"'{name}' must be {label}")
    if body["model"] not in models:
        raise ValidationError(
            "unknown_model", "model", f"unknown model {body['model']!r}; known: {', '.join(sorted(models))}"
        )
    if not body["prompt"].strip():
        raise ValidationError("empty_prompt", "prompt", "'prompt' must not be empty")
    if len(body["prompt"]) > max_prompt_chars:
        raise ValidationError(
            "prompt_too_long",
            "prompt",
            f"'prompt' has {len(body['prompt'])} characters; the limit is {max_prompt_chars}",
        )
    if not 1 <= body["max_tokens"] <= max_tokens_limit:
        raise ValidationError("out_of_range", "max_tokens", f"'max_tokens' must be between 1 and {max_tokens_limit}")
    return InferenceRequest(
        model=body["model"],
        prompt=body["prompt"],
        max_tokens=body["max_tokens"],
        stream=bool(body.get("stream")),
        seed=body.get("seed") or 0,
        run_async=bool(body.get("async")),
    )


def unchecked(body: Any) -> InferenceRequest:
    """The QUEEN_SKIP_VALIDATION failure switch: take whatever came, coercing blindly."""
    fields = body if isinstance(body, dict) else {}
    return InferenceRequest(
        model=str(fields.get("model")),
        prompt=str(fields.get("prompt", "")),
        max_tokens=int(fields.get("max_tokens", 16)),
        stream=bool(fields.get("stream")),
        seed=int(fields.get("seed") or 0),
        run_async=bool(fields.get("async")),
    )

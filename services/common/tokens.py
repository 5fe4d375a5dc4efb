"""Deterministic token generation: the same (model, prompt, seed) always yields the same text."""

from __future__ import annotations

import hashlib
import random

VOCABULARY = (
    "the",
    "bee",
    "hive",
    "queen",
    "worker",
    "honey",
    "comb",
    "flower",
    "nectar",
    "pollen",
    "swarm",
    "wing",
    "buzz",
    "field",
    "summer",
    "light",
    "sun",
    "rain",
    "wax",
    "cell",
    "dance",
    "scout",
    "forage",
    "return",
    "build",
    "guard",
    "nurse",
    "brood",
    "colony",
    "meadow",
    "clover",
    "lavender",
    "orchard",
    "bloom",
    "drift",
    "hum",
    "gold",
    "amber",
    "sweet",
    "warm",
    "quiet",
    "busy",
    "bright",
    "small",
    "many",
    "one",
    "every",
    "morning",
    "evening",
    "path",
)


def generate(model: str, prompt: str, seed: int, count: int) -> list[str]:
    """The first ``count`` tokens; each after the first starts with a space."""
    digest = hashlib.sha256(f"{model}\x00{prompt}\x00{seed}".encode()).digest()
    rng = random.Random(digest)
    return [("" if i == 0 else " ") + rng.choice(VOCABULARY) for i in range(count)]

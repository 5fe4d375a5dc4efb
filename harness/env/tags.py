"""The `@env.NAME` tag: which environment a feature or scenario asks for."""

from __future__ import annotations

import re

ENV_TAG = re.compile(r"^env\.(?P<name>[\w.-]+)$")


def env_tag(tags: list[str]) -> str | None:
    """The environment named by an ``@env.<name>`` tag, if any (the last one wins)."""
    names = [m.group("name") for t in tags if (m := ENV_TAG.match(t))]
    return names[-1] if names else None

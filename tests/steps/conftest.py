"""Fixtures for the step library: a local server, a fake environment, a behave-like context.

Steps are run the way behave runs them (see kit.run) against a real ``Session`` whose
environment is a fake whose ``url()`` points at the local server. No Docker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.env.config import Settings
from harness.expect import LEDGER
from harness.run.session import Environments, Session
from tests.steps.kit import FakeContext, FakeEnv, load_generic_steps
from tests.steps.server import serving


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """The local server's base URL."""
    with serving() as url:
        yield url


@pytest.fixture
def env(base_url: str, tmp_path: Path) -> FakeEnv:
    """A fake environment whose every service is the local server."""
    return FakeEnv(base_url, run_dir=tmp_path / "run" / "fake")


@pytest.fixture
def context(tmp_path: Path, env: FakeEnv, generic_steps: None) -> Iterator[Any]:
    """A behave-like context: ``harness`` is a real Session using the fake environment."""
    settings = Settings(root=tmp_path)
    session = Session(settings, Environments(settings, "run", {}))
    session._env = env  # type: ignore[assignment]
    LEDGER.take()
    yield FakeContext(session)
    session.end_scenario()


@pytest.fixture
def generic_steps() -> None:
    """The generic step modules in behave's registry (afresh: other tests may clear it)."""
    load_generic_steps()

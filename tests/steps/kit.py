"""Test kit for the step library: a fake environment, loading the generic steps, running steps."""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from behave.parser import parse_steps
from behave.step_registry import registry

from harness.env.probes import Observed
from harness.env.spec import Timeouts
from harness.errors import HarnessError
from harness.expect import LEDGER

REPO = Path(__file__).resolve().parents[2]
SECRET = "a-test-secret-that-is-long-enough-for-hs256"
STEP_MODULES = ("env_steps", "http_steps", "stream_steps", "wait_steps")


@dataclass
class FakeEnv:
    """Just enough of harness.env.lifecycle.Environment for the generic steps."""

    base_url: str
    name: str = "fake"
    params: dict[str, Any] = field(default_factory=lambda: {"jwt_secret": SECRET})
    services: dict[str, Any] = field(default_factory=lambda: {"web": None, "api": None, "job": None})
    problem_list: list[str] = field(default_factory=list)
    observed: list[Observed] = field(default_factory=list)
    log_text: dict[str, str] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    failure_labels: list[str] = field(default_factory=list)
    project: str = "fake-project"
    run_dir: Path = Path("/nonexistent")  # the fault timeline goes here (conftest gives a tmp folder)
    spec: Any = field(
        default_factory=lambda: SimpleNamespace(timeouts=Timeouts(probe_interval=0.02, log_tail=5)))

    routes: dict[str, str] = field(default_factory=dict)  # service -> a client-link proxy (harness.clients.links)

    def url(self, service: str, port: int | None = None) -> str:
        self.direct_url(service, port)
        return self.routes.get(service) or self.base_url

    def direct_url(self, service: str, port: int | None = None) -> str:
        if service not in self.services:
            raise HarnessError(f"environment {self.name!r} has no service {service!r}")
        return self.base_url

    def route(self, service: str, port: int | None, origin: str) -> None:
        self.routes[service] = origin

    def unroute(self, service: str, port: int | None) -> None:
        self.routes.pop(service, None)

    def problems(self) -> list[str]:
        return list(self.problem_list)

    def settle(self, within: float, trust_within: float = 0.0) -> list[str]:
        return []

    @property
    def artifacts(self) -> FakeEnv:
        """``env.artifacts.save_failure_logs`` as the hooks call it."""
        return self

    def save_failure_logs(self, label: str, tail: int = 500) -> Path:
        self.failure_labels.append(label)
        return Path("/nonexistent") / label

    def refresh(self) -> list[Observed]:
        return list(self.observed)

    def logs(self, service: str, tail: int | None = None) -> str:
        return self.log_text.get(service, "")

    def containers(self, service: str) -> list[Any]:
        return [self.container(service)] if service in self.states else []

    def container(self, service: str) -> Any:
        return SimpleNamespace(attrs={"State": self.states[service]})


@dataclass
class FakeContext:
    """Just enough of behave's Context to run step functions through their matchers."""

    harness: Any
    text: str | None = None
    table: Any = None

    @contextmanager
    def use_with_user_mode(self) -> Iterator[None]:
        yield


def load_generic_steps() -> None:
    """The repository's generic step modules, loaded afresh into behave's (process-wide) registry."""
    registry.clear()
    for name in STEP_MODULES:
        runpy.run_path(str(REPO / "harness" / "stepdefs" / f"{name}.py"), run_name=f"generic_steps.{name}")


def run(context: Any, text: str) -> tuple[int, int]:
    """Run Gherkin step lines (with doc strings and tables) like behave; return (verifications, actions)."""
    LEDGER.take()
    for step in parse_steps(text):
        match = registry.find_match(step)
        assert match is not None, f"undefined step: {step.keyword} {step.name}"
        context.text, context.table = step.text, step.table
        match.run(context)
    return LEDGER.take()

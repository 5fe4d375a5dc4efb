"""The small values an Environment holds: its services by name, and the plan rendering made."""

from __future__ import annotations

from dataclasses import dataclass

from harness.env.builds import ServiceBuild
from harness.env.readiness import Service
from harness.errors import HarnessError

__all__ = ["Plan", "Services"]


class Services(dict[str, Service]):
    """The services of one environment by compose name; ``named`` says which exist when one does not."""

    def __init__(self, env: str) -> None:
        super().__init__()
        self.env = env

    def named(self, name: str) -> Service:
        """The service ``name``; a HarnessError listing the services when there is none."""
        if name not in self:
            raise HarnessError(f"environment {self.env!r} has no service {name!r}",
                               hint=f"services: {', '.join(sorted(self))}")
        return self[name]


@dataclass(frozen=True)
class Plan:
    """What rendering made of an environment: its services (with probes), the images it runs, the builds first."""

    services: dict[str, Service]
    images: list[str]
    builds: list[ServiceBuild]

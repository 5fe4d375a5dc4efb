"""harness: BDD integration tests against real multi-service stacks on Docker Compose.

The public names below are imported lazily (PEP 562), so `import harness` stays cheap and
`harness analyze` never pays for docker, behave or aiohttp.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "AnalysisError": "harness.errors",
    "BuildError": "harness.errors",
    "ComposeError": "harness.errors",
    "ConfigError": "harness.errors",
    "DockerError": "harness.errors",
    "DockerUnavailable": "harness.errors",
    "Environment": "harness.env.lifecycle",
    "EnvironmentSpec": "harness.env.config",
    "FaultError": "harness.errors",
    "HarnessError": "harness.errors",
    "ImageMissing": "harness.errors",
    "LoadError": "harness.errors",
    "ReadinessTimeout": "harness.errors",
    "ServiceExited": "harness.errors",
    "ServiceUnhealthy": "harness.errors",
    "Session": "harness.run.session",
    "Settings": "harness.env.config",
    "StartupError": "harness.errors",
    "TemplateError": "harness.errors",
    "VerificationFailed": "harness.errors",
    "eventually": "harness.waiting",
    "expect": "harness.expect",
    "load_environment": "harness.env.config",
    "poll": "harness.waiting",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    return module if name == _EXPORTS[name].rsplit(".", 1)[-1] else getattr(module, name)

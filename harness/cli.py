"""The `harness` command: a registry of subcommands, each imported only when it runs.

Start-up stays lean (`harness analyze` must not pay for docker, behave or aiohttp): this
module imports nothing but the standard library until it knows which command runs.

Exit codes: 0 ok, 1 tests failed (or a check such as `steps --hollow` found something),
2 configuration or environment error, 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from harness.errors import HarnessError

# name -> ("module:function", one-line help). Each function takes argv and returns an exit code.
COMMANDS: dict[str, tuple[str, str]] = {
    "envs": ("harness.commands:envs", "list the environments and what they are for"),
    "up": ("harness.commands:up", "bring an environment up and print its service URLs"),
    "status": ("harness.commands:status", "list the harness's running projects"),
    "logs": ("harness.commands:logs", "print a service's logs"),
    "down": ("harness.commands:down", "take a run's environment down (default: every one of yours)"),
    "gc": ("harness.commands:gc", "remove projects whose owner process is gone"),
    "run": ("harness.commands:run", "run behave with the harness's outputs in the run folder"),
    "sweep": ("harness.sweep.cli:main", "run the scenarios under every fault of the environment; map what holds"),
    "watchdog": ("harness.env.watchdog:main", "(internal) take a project down when its owner dies"),
    "steps": ("harness.catalog:main", "print the step vocabulary; --hollow finds hollow steps"),
    "analyze": ("harness.analysis.cli:analyze_main", "analyze behave/JUnit/Cucumber results"),
    "report": ("harness.analysis.cli:report_main", "write a team's handoff report"),
    "token": ("harness.clients.tokens:main", "print a bearer token for the reference stack"),
    "images": ("harness.env.images:main", "build the service images (tagged by content hash)"),
    "init": ("harness.scaffold:main", "scaffold a new project (steps, environment, one feature) in DIR"),
}


def _usage() -> str:
    lines = ["usage: harness COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in COMMANDS.items() if name != "watchdog"]
    lines += ["", "exit codes: 0 ok, 1 tests failed, 2 configuration or environment error"]
    return "\n".join(lines)


def _resolve(target: str) -> Callable[[list[str]], int]:
    module_name, _, attr = target.partition(":")
    func: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), attr)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand and translate harness errors into exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"harness: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2

    try:
        return _resolve(COMMANDS[name][0])(rest)
    except HarnessError as exc:
        print(f"harness {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"harness {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

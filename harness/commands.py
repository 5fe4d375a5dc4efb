"""The environment commands of the CLI: envs, up, status, logs, down, gc, run."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from harness.analysis.inputs import load
from harness.engine.api import reads_for
from harness.engine.compose import ComposeRunner
from harness.engine.endpoint import current_engine
from harness.env import janitor
from harness.env.config import (
    Settings,
    list_environments,
    load_environment,
    parse_assignments,
    resolve_parameters,
)
from harness.env.discover import compose_environment
from harness.env.lifecycle import DETACHED, Environment, forward_signals_as_interrupt, new_run_id
from harness.env.spec import EnvironmentSpec
from harness.errors import ConfigError, HarnessError
from harness.parallel.split import run_split
from harness.run.interrupts import interrupt_once
from harness.run.main import DISK_FULL, disk_full
from harness.runfolder import RunFolder, latest_link

logger = logging.getLogger(__name__)


def envs(argv: list[str]) -> int:
    """List the environments with their descriptions."""
    argparse.ArgumentParser(prog="harness envs").parse_args(argv)
    settings = Settings.build()
    for name in list_environments(settings.env_dir):
        spec = load_environment(name, settings.env_dir)
        print(f"{name:<14} {spec.description.splitlines()[0] if spec.description else ''}")
    return 0


def up(argv: list[str]) -> int:
    """Bring an environment (or a bare compose file) up, detached until `harness down`; print service URLs."""
    args = up_parser().parse_args(argv)
    settings = Settings.build({"keep": "1" if args.keep else ""})
    spec = _up_spec(args, settings)
    params = resolve_parameters(spec, parse_assignments(args.define), strict=True)
    forward_signals_as_interrupt()
    janitor.sweep(reads_for(current_engine()))
    env = Environment(spec, params, settings, run_id=new_run_id(), owner=DETACHED)
    try:
        env.start()
    except KeyboardInterrupt:
        return 130
    print(f"run {env.run_id} · project {env.project} · files in {env.run_dir}")
    for name, svc in sorted(env.services.items()):
        print(f"  {name:<16} {env.url(name) if svc.port else '(no port)'}")
    print(f"take it down with: harness down {env.run_id}")
    return 0


def up_parser() -> argparse.ArgumentParser:
    """`harness up ENV | --compose FILE [-D key=value]... [--keep]`."""
    parser = argparse.ArgumentParser(prog="harness up")
    parser.add_argument("env", nargs="?", help="an environment of environments/ (`harness envs` lists them)")
    parser.add_argument("--compose", type=Path, metavar="FILE",
                        help="a plain compose file instead of an environment: probes and ports come from it")
    parser.add_argument("-D", dest="define", action="append", default=[], metavar="KEY=VALUE",
                        help="set a parameter the environment declares (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep a failed environment up for debugging")
    return parser


def _up_spec(args: argparse.Namespace, settings: Settings) -> EnvironmentSpec:
    """The environment `harness up` brings up: a named one, or one made of ``--compose FILE``."""
    if (args.env is None) == (args.compose is None):
        raise ConfigError("name an environment or give --compose FILE (one of them)",
                          hint="`harness up minimal` or `harness up --compose docker-compose.yml`")
    if args.compose is not None:
        return compose_environment(args.compose)
    return load_environment(args.env, settings.env_dir)


def status(argv: list[str]) -> int:
    """List the harness's projects: run, environment, owner, containers running."""
    argparse.ArgumentParser(prog="harness status").parse_args(argv)
    found = janitor.projects(reads_for(current_engine()))
    if not found:
        print("no harness projects")
    for p in found:
        owner = "detached" if p.detached else f"pid {p.owner}" + (" (gone)" if janitor.orphaned(p) else "")
        print(f"{p.run_id:<24} {p.env:<14} {p.name:<36} {owner:<16} {p.running}/{p.containers} running")
    return 0


def _pick(run: str | None) -> list[janitor.Project]:
    found = janitor.projects(reads_for(current_engine()))
    chosen = [p for p in found if run in (None, p.run_id, p.name)]
    if run and not chosen:
        raise ConfigError(f"no harness project for run {run!r}", hint="`harness status` lists the runs")
    return chosen


def logs(argv: list[str]) -> int:
    """Print a service's logs from the newest project (or --run)."""
    parser = argparse.ArgumentParser(prog="harness logs")
    parser.add_argument("service", help="the compose service whose logs to print")
    parser.add_argument("--run", help="run id or project name (default: the newest)")
    parser.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
    args = parser.parse_args(argv)
    chosen = _pick(args.run)
    if not chosen:
        raise ConfigError("no harness project is running", hint="`harness up ENV` starts one")

    tail = ["--tail", str(args.tail)] if args.tail else []
    print(ComposeRunner(chosen[-1].name)("logs", "--no-color", "--timestamps", *tail, args.service), end="")
    return 0


def down(argv: list[str]) -> int:
    """Take down one run's projects, or every harness project of this host when none is named."""
    parser = argparse.ArgumentParser(prog="harness down")
    parser.add_argument("run", nargs="?", help="run id or project name (default: all)")
    args = parser.parse_args(argv)
    for project in _pick(args.run):
        janitor.remove(project.name)
        print(f"removed {project.name}")
    return 0


def gc(argv: list[str]) -> int:
    """Remove projects whose owner process is gone (--all: every harness project)."""
    parser = argparse.ArgumentParser(prog="harness gc")
    parser.add_argument("--all", action="store_true", help="also detached and foreign-owned projects")
    args = parser.parse_args(argv)
    removed = janitor.sweep(reads_for(current_engine()), everything=args.all)
    print("removed: " + (", ".join(removed) if removed else "nothing"))
    return 0


def run(argv: list[str]) -> int:
    """Run behave with JSON, JUnit, rerun, run-record and log outputs in .harness/runs/<run-id>/.

    Afterwards the run is checked: a run in which nothing ran (a tag expression that selected
    nothing, a before_all error, an AmbiguousStep abort) is an error (exit 2), never green.
    ``--workers N``, ``--shard i/n`` and ``--retries K`` split the run over behave processes
    (harness.parallel.pool) and merge their outputs into the one run folder; ``--reuse [ENV]``
    attaches to an environment kept up by `harness up` (harness.env.reuse).
    """
    if _asks_for_help(argv):
        print(run_help(), end="")
        return 0
    options, behave_args = run_parser().parse_known_args(argv)
    settings = Settings.build()
    behave_args = _reuse_args(options, behave_args, settings)
    if options.rerun is not None:
        failures = rerun_failures(options.rerun, settings)
        if not failures:
            return 0
        behave_args = [*behave_args, *failures]
    run_id = new_run_id()
    run_dir = settings.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    if options.workers > 1 or options.shard or options.retries:
        code = _split(options, behave_args, settings, run_id, run_dir)
        _latest_link(settings.runs_dir, run_dir)
        return code if code == 130 else check_run(run_dir, code)
    cmd = [sys.executable, "-m", "harness.run.main", *behave_output_args(run_dir), "-D", f"run_id={run_id}",
           *behave_args]
    print(f"harness run {run_id}: outputs in {run_dir}", flush=True)
    env = {**os.environ, "HARNESS_RUN_ID": run_id}
    forward_signals_as_interrupt()
    try:
        code = _tee(cmd, settings.root, env, RunFolder(run_dir).behave_log)
    except KeyboardInterrupt:
        return 130
    _latest_link(settings.runs_dir, run_dir)
    if code == DISK_FULL or (code not in (0, 1) and _full(run_dir)):
        raise disk_full_error(settings.runs_dir, run_dir)
    run = RunFolder(run_dir)
    run.write_rerun(run.read_rerun(settings.root), settings.root)  # behave's paths, made to work from the run folder
    if code not in (0, 1):
        raise HarnessError(f"behave exited {code}", hint=f"see the output above and {RunFolder(run_dir).behave_log}")
    return check_run(run_dir, code)


def _split(options: argparse.Namespace, behave_args: list[str], settings: Settings, run_id: str,
           run_dir: Path) -> int:
    """``run_split``, with a full disk under the runs folder ending in the one error a single run gives.

    A worker that ran out of room exits DISK_FULL (or dies writing its log: the exit code says little);
    the merge after it fails writing, or names the worker's exit: the free space decides.
    """
    try:
        code = run_split(options, behave_args, settings, run_id, run_dir)
    except (OSError, HarnessError) as exc:
        if (isinstance(exc, OSError) and disk_full(exc)) or _full(run_dir):
            raise disk_full_error(settings.runs_dir, run_dir) from exc
        raise
    if code != 130 and _full(run_dir):  # a worker stopped writing, yet exited as behave does
        raise disk_full_error(settings.runs_dir, run_dir)
    return code


HELP_WIDTH = 100  # the help has one width everywhere, so README's copy of it is the real output


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, width=HELP_WIDTH, max_help_position=32)


def run_parser() -> argparse.ArgumentParser:
    """The options `harness run` reads itself; every other argument goes to behave."""
    parser = argparse.ArgumentParser(prog="harness run", allow_abbrev=False, add_help=False,
                                     usage="harness run [HARNESS OPTIONS] [BEHAVE OPTIONS] [PATHS]",
                                     description=RUN_DESCRIPTION, formatter_class=_help_formatter)
    parser.add_argument("-h", "--help", action="store_true", help="show this help (the harness's options, then "
                                                                  "behave's) and exit; creates nothing")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="run the features over N behave processes, each with its own environments")
    parser.add_argument("--shard", default="", metavar="I/N",
                        help="run only shard I of N (a deterministic, duration-balanced split for CI)")
    parser.add_argument("--retries", type=int, default=0, metavar="K",
                        help="re-run a failed scenario up to K times; failed-then-passed is flaky")
    parser.add_argument("--durations", type=Path, metavar="RUN",
                        help="weigh the split by this run folder's (or record's) durations")
    parser.add_argument("--reuse", nargs="?", const="1", default="", metavar="ENV",
                        help="attach to an environment kept up by `harness up ENV` (left up afterwards)")
    parser.add_argument("--rerun", nargs="?", const="", default=None, metavar="RUN",
                        help="run what failed in RUN (a run id or run folder; default: the last run)")
    return parser


def rerun_failures(run: str, settings: Settings) -> list[str]:
    """``--rerun [RUN]``: the failing ``file:line`` locations of a run (printed; empty when none failed)."""
    folder = latest_link(settings.runs_dir) if not run else Path(run) if Path(run).is_dir() else settings.runs_dir / run
    rerun = RunFolder(folder).rerun
    if not rerun.is_file():
        raise ConfigError(f"--rerun {run or ''}: no {rerun}", key="--rerun",
                          hint="name a run id of .harness/runs/ or a run folder; without RUN it is the last run")
    failures = RunFolder(folder).read_rerun(settings.root)
    print(f"harness run --rerun: {len(failures) or 'no'} failing scenario(s) of {folder}"
          + ("" if failures else ": nothing to re-run"), flush=True)
    return failures


RUN_DESCRIPTION = """\
Run behave with the harness's outputs (behave JSON, JUnit, run record, rerun file, log) in a new run
folder under .harness/runs. A run in which nothing ran is an error (exit 2). The harness's own
options come first; every other argument goes to behave as it is."""


def _asks_for_help(argv: list[str]) -> bool:
    """``-h``/``--help`` among the arguments before ``--`` (after it they are behave's paths)."""
    head = argv[:argv.index("--")] if "--" in argv else argv
    return "-h" in head or "--help" in head


def run_help() -> str:
    """`harness run --help`: the harness's options, then behave's (which pass through)."""
    # lazy: behave's option table is needed only for this help (harness run itself starts behave as a process)
    from behave.configuration import setup_parser

    behave = setup_parser()
    behave.prog = "behave"
    behave.formatter_class = _help_formatter
    text = behave.format_help()
    # behave's usage, examples and -h would contradict ours: its help from the arguments on
    options = text[text.index("positional arguments:"):].splitlines(keepends=True)
    options = "".join(line for line in options if not line.startswith("  -h, --help"))
    return f"{run_parser().format_help()}\nbehave's options (passed to behave as they are):\n\n{options}"


def _reuse_args(options: argparse.Namespace, behave_args: list[str], settings: Settings) -> list[str]:
    """``--reuse [ENV]`` as ``-D reuse=ENV``; a value that is no environment is a behave path."""
    if not options.reuse:
        return behave_args
    value = options.reuse
    if value != "1" and not (settings.env_dir / f"{value}.yaml").is_file():
        behave_args, value = [value, *behave_args], "1"
    if options.workers > 1:
        raise ConfigError("--reuse attaches every worker to one kept environment: use it with one worker",
                          key="--reuse", hint="drop --workers, or drop --reuse to give each worker its own")
    return ["-D", f"reuse={value}", *behave_args]


def check_run(run_dir: Path, code: int) -> int:
    """Exit code of a finished run: 2 when nothing ran or an environment failed, else ``code``."""

    run_ = load([str(run_dir)])  # raises AnalysisError (exit 2) when nothing ran or the run was aborted
    broken = environment_errors(run_)
    if broken:
        print("harness run: environment or configuration errors (exit 2):\n  " + "\n  ".join(broken[:10]) +
              f"\nHint: read {RunFolder(run_dir).behave_log}; `harness analyze {run_dir}` sorts every failure",
              file=sys.stderr)
        return 2
    return code


def environment_errors(run_: Any) -> list[str]:
    """Hook errors of a run: an environment that did not come up, bad configuration, Docker down."""
    errors = [f"{e.hook or 'hook'}: {e.type}: {e.message.splitlines()[0] if e.message else ''}"
              for e in run_.info.hook_errors]
    for feature in run_.features:
        for error in [feature.hook_error] + [s.error for s in feature.scenarios if s.status == "hook_error"]:
            if error is not None:
                errors.append(f"{feature.path}: {error.hook or 'hook'}: {error.type}: "
                              f"{error.message.splitlines()[0] if error.message else ''}")
    return list(dict.fromkeys(errors))


def _tee(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
    """Run ``cmd``, copying its output to the terminal and to ``log``; return its exit code.

    A log that cannot be written (a full disk) stops being written; the terminal still gets every line.
    """
    out: IO[bytes] | None = log.open("wb")
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        assert proc.stdout is not None
        try:
            for line in iter(proc.stdout.readline, b""):
                sys.stdout.buffer.write(line)
                sys.stdout.buffer.flush()
                out = _write_log(out, line)
        except KeyboardInterrupt:  # SIGTERM to us alone: behave must stop (and take its environments down) too
            _await_teardown(proc, out)
            raise
        finally:
            _write_log(out, None)
        return proc.wait()


def _await_teardown(proc: subprocess.Popen[bytes], out: IO[bytes] | None) -> None:
    """After an interrupt: stop behave once, then show its teardown to the end, whatever else is pressed.

    Leaving earlier would close behave's output pipe under its teardown (and exit before the
    environments are gone); a Ctrl-C pressed again is reported and ignored (harness.run.interrupts).
    """
    interrupt_once(os.getpid()).stopping = True
    if proc.poll() is None:
        proc.terminate()  # behave counts this as its first interrupt only if Ctrl-C did not reach it
    assert proc.stdout is not None
    for line in iter(proc.stdout.readline, b""):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
        out = _write_log(out, line)
    proc.wait()


def _write_log(out: IO[bytes] | None, line: bytes | None) -> IO[bytes] | None:
    """Write ``line`` to the log (None: close it); on a full disk, close it and write no more."""
    if out is None:
        return None
    try:
        if line is None:
            out.close()
            return None
        out.write(line)
        return out
    except OSError as exc:
        if not disk_full(exc):
            raise
        logger.error("the run log stopped: %s", exc)
        with contextlib.suppress(OSError):
            out.close()
        return None


def _full(run_dir: Path) -> bool:
    """Whether the disk under ``run_dir`` has (next to) no room left."""
    try:
        return shutil.disk_usage(run_dir).free < FULL_BELOW
    except OSError:
        return False


FULL_BELOW = 64 * 1024  # bytes free under which a run's failure is taken for a full disk


def disk_full_error(runs_dir: Path, run_dir: Path) -> HarnessError:
    """The one error a run on a full disk ends with: which folder, what was kept, what to do."""
    return HarnessError(
        f"no space left on the disk of {runs_dir}: the run stopped; what was written before the disk "
        f"filled is in {run_dir} (`harness analyze {run_dir}` reads it)",
        hint=f"free space on that disk (`df -h {runs_dir}`; old runs: `rm -r {runs_dir}/<run-id>`), or point "
             "HARNESS_RUNS_DIR at a folder on a bigger disk, then run again")


def behave_output_args(run_dir: Path) -> list[str]:
    """The behave options that write the run's files (each -o binds to the -f before it)."""
    return [*RunFolder(run_dir).behave_outputs(),
            "-f", "pretty" if sys.stdout.isatty() else "plain", "--no-color" if not sys.stdout.isatty() else "--color"]


def _latest_link(runs_dir: Path, run_dir: Path) -> None:
    link = latest_link(runs_dir)
    try:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(run_dir.name)
    except OSError:
        pass

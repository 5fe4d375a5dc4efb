"""A run split over behave processes: plan (parallel.shard) -> Pool (parallel.pool) -> merge (parallel.merge).

    <run>/w1/attempt-1/   a worker's behave outputs (attempt-2/... for its retries)
    <run>/w1/<env>/       the environments that worker started (compose files, logs, timelines, load)
    <run>/serial/         the @serial items, run after the others, alone (their bring-ups overlap the
                          others' last minutes: harness.parallel.gate; <run>/serial.gate opens when their last
                          scenarios have ended)
    <run>/turns.lock      the workers take turns at `compose up` (harness.env.turns)
    <run>/<env>/          every worker's fault timelines (timeline.ndjson) and load results (load/wN-*.json),
                          where a sequential run has them
    <run>/workers.json    the plan, exit codes, wall time and peak memory of every worker
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from contextlib import chdir
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.analysis.analyze import hook_failed
from harness.analysis.inputs import load
from harness.analysis.model import PROBLEMS
from harness.engine.api import reads_for
from harness.engine.endpoint import current_engine
from harness.env import janitor
from harness.env.config import Settings
from harness.errors import ConfigError, HarnessError
from harness.parallel import claims, shard
from harness.parallel.merge import LOST, Part, add_lost, merge_folder, rerun_locations, write_junit
from harness.parallel.pool import Pool, Worker, make_workers
from harness.parallel.retry import RetryPolicy
from harness.runfolder import RunFolder, WorkersSummary, WorkerSummary, latest_link, names

logger = logging.getLogger(__name__)


def run_split(options: argparse.Namespace, behave_args: list[str], settings: Settings, run_id: str,
              run_dir: Path) -> int:
    """Run the selected items over the workers; merge; return behave's exit code rule (0, 1) or 130."""
    if options.workers < 1:
        raise ConfigError(f"--workers {options.workers} is not a positive number", key="--workers",
                          hint="write --workers 2 (or more) to run features in parallel")
    paths, rest = behave_paths(behave_args, settings.root)
    items = plan_items(paths, options, settings)
    source = _durations_source(options, settings)
    measured = shard.setups(source) if source is not None else {}
    shared = [i for i in items if not i.serial]
    serial = [i for i in items if i.serial]
    reserve = shard.serial_bring_up(serial, shared, measured) if options.workers > 1 else 0.0
    buckets = [shard.run_order(b, measured)
               for b in shard.balance(shared, options.workers, measured=measured, reserve=reserve)]
    workers, lone = make_workers(buckets, serial, run_id, run_dir)
    stealing = _claims_folder(run_dir, workers, buckets, measured, serial, reserve > 0)
    print(f"harness run {run_id}: {len(items)} items over {len(workers)} worker(s)"
          + (f" + {len(lone.locations)} @serial (alone, at the end)" if lone else "") + f"; outputs in {run_dir}",
          flush=True)
    run = RunFolder(run_dir)
    pool = Pool(workers, lone, lambda w: worker_command(w, rest), settings.root, dict(os.environ),
                RetryPolicy(options.retries), claims=stealing,
                gate=run.serial_gate if lone is not None and workers else None, turns=run.turns_lock)
    started, interrupted = time.monotonic(), False
    try:
        pool.run()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        everyone = [*workers, *([lone] if lone else [])]
        try:
            _collect_environments(settings.runs_dir, run_dir, everyone)
        finally:  # a full disk stops the gathering, never the removal of a dead worker's projects
            remove_leftovers(run_id)
    everyone = [w for w in everyone if w.parts]  # the @serial items' own worker starts only when nobody took them
    failures = [loc for w in everyone for loc in rerun_locations(w.current.folder)]
    merge_folder(run_dir, _with_foreign(pool.parts, everyone, stealing), run_id, failures, settings.root)
    run.write_workers(_summary(options, everyone, time.monotonic() - started,
                               claims.owners(stealing) if stealing is not None else {},
                               None if pool.gate_opened is None else pool.gate_opened - started))
    if interrupted:
        print("harness run: interrupted; every worker stopped and its environments removed", file=sys.stderr)
        return 130
    return _finish(run_dir, everyone, items, settings.root)


def _claims_folder(run_dir: Path, workers: list[Worker], buckets: list[list[shard.Item]],
                   setups: dict[str, float], serial: list[shard.Item], serial_first: bool) -> Path | None:
    """With 2+ workers: each also gets the others' items to take when it runs out and the @serial items
    (the first worker to reach them takes them all: harness.parallel.claims.worker_lists)."""
    if len(workers) < 2:
        return None
    shares = [b for b in buckets if b]
    for worker, items in zip(workers, claims.worker_lists(shares, serial, setups, serial_first), strict=True):
        worker.locations = [i.location for i in items]
    return claims.Claims.create(RunFolder(run_dir).claims_dir, [i.location for b in shares for i in b],
                                [i.location for i in serial])


def _with_foreign(parts: list[Part], workers: list[Worker], folder: Path | None) -> list[Part]:
    """Each worker's parts knowing which items other workers ran (their skipped copies are dropped)."""
    if folder is None:
        return parts
    owners = claims.owners(folder)
    run_ids = {w.label: w.run_id for w in workers}
    return [replace(p, foreign=frozenset(loc for loc, owner in owners.items() if owner != run_ids.get(p.label)))
            for p in parts]


def plan_items(paths: list[str], options: argparse.Namespace, settings: Settings) -> list[shard.Item]:
    """The items of this run (of this shard), weighed by the durations of a previous run."""
    items = shard.weigh(shard.collect(paths, settings.root), _durations(options, settings))
    if options.shard:
        items = shard.pick(items, shard.Shard.parse(options.shard))
    if not items:
        raise ConfigError(f"nothing to run: no feature under {', '.join(paths)}"
                          + (f" in shard {options.shard}" if options.shard else ""), key="paths",
                          hint="fewer shards than feature files, or check the paths")
    return items


def _durations_source(options: argparse.Namespace, settings: Settings) -> Path | None:
    """--durations RUN, else (not for shards: every CI job must plan alike) the latest run."""
    source: Path | None = options.durations or (None if options.shard else latest_link(settings.runs_dir))
    return source


def _durations(options: argparse.Namespace, settings: Settings) -> dict[str, float]:
    """The durations of --durations RUN or the latest run (see _durations_source)."""
    source = _durations_source(options, settings)
    if source is None:
        return {}
    record = RunFolder(source).record if source.is_dir() else source
    return shard.durations(record)


def behave_paths(args: list[str], root: Path) -> tuple[list[str], list[str]]:
    """(feature paths, the other behave arguments): behave's own parser and config files decide."""
    # lazy: behave loads only where .feature files are parsed (analysis of result files never needs it)
    from behave.configuration import Configuration

    with chdir(root):
        config = Configuration(command_args=list(args), load_config=True)
    paths = [str(p) for p in config.paths] or ["features"]
    return paths, [a for a in args if a not in paths]


def worker_command(worker: Worker, behave_args: list[str]) -> list[str]:
    """The behave command of a worker's current attempt: the harness's outputs in its folder."""
    folder = worker.current.folder
    # harness.run.main is behave's main with a full disk ended in one line (exit 3), not a formatter's traceback
    return [sys.executable, "-m", "harness.run.main", *RunFolder(folder).behave_outputs(), "-f", "plain", "--no-color",
            "-D", f"run_id={worker.run_id}", *behave_args, *worker.locations]


def _collect_environments(runs_dir: Path, run_dir: Path, workers: list[Worker]) -> None:
    """Move each worker's environment folders (runs/<run>-wN/<env>) into its folder of the run."""
    for worker in workers:
        source = runs_dir / worker.run_id
        if not source.is_dir():
            continue
        worker.folder.mkdir(parents=True, exist_ok=True)
        for child in source.iterdir():
            shutil.move(str(child), str(worker.folder / child.name))
        shutil.rmtree(source, ignore_errors=True)
    _gather(run_dir, workers)


def _gather(run_dir: Path, workers: list[Worker]) -> None:
    """Timelines and load results where a sequential run has them: <run>/<env>/ (the worker in names)."""
    run = RunFolder(run_dir)
    for worker in workers:
        for env in RunFolder(worker.folder).envs(nested=False):
            target = run.env(env.name)
            entries = env.read_timeline()
            if entries:
                target.append_timeline(e.from_worker(worker.label) for e in entries)
            for result in env.load_results():
                copy = target.gathered_load_result(worker.label, result)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(result, copy)


def remove_leftovers(run_id: str) -> list[str]:
    """Remove every compose project of this run's workers still on the engine (killed workers)."""
    try:
        found = janitor.projects(reads_for(current_engine()))
    except HarnessError as exc:
        logger.info("leftover check skipped: %s", exc)
        return []
    removed = []
    for project in found:
        if project.run_id.startswith(f"{run_id}-") and not project.detached:
            try:
                janitor.remove(project.name)
            except HarnessError as exc:  # never lose the run's results over it: the next run's janitor retries
                logger.error("could not remove %s, which a worker left (the next run's janitor will): %s",
                             project.name, exc)
                continue
            removed.append(project.name)
    if removed:
        logger.warning("removed projects a stopped worker left: %s", ", ".join(removed))
    return removed


def _summary(options: argparse.Namespace, workers: list[Worker], wall: float, owners: dict[str, str],
             gate_opened: float | None) -> WorkersSummary:
    """The run's summary (harness.runfolder.workers): the plan, and what each worker ran."""
    by_worker = tuple(WorkerSummary(w.label, w.run_id, tuple(w.planned), tuple(_ran(w, owners)), tuple(w.codes),
                                    tuple(w.walls), w.attempt, round(w.peak_rss_kb / 1024, 1))
                      for w in workers if w.parts)
    return WorkersSummary(options.workers, options.shard, options.retries, round(wall, 3), by_worker,
                          None if gate_opened is None else round(wall - gate_opened, 3))


def _ran(worker: Worker, owners: dict[str, str]) -> list[str]:
    """The items a worker ran: those it claimed; its plan when its items were not claimable (@serial, 1 worker)."""
    if not any(loc in owners for loc in worker.planned):
        return worker.planned
    return [loc for loc, owner in owners.items() if owner == worker.run_id]


def _finish(run_dir: Path, workers: list[Worker], items: list[shard.Item] | None = None,
            root: Path | None = None) -> int:
    """Check every worker exited as behave does (0, 1); write the merged JUnit; 1 if anything failed.

    A worker that died (SIGKILL, out of memory) took its unfinished items with it: their scenarios go
    into the merged results as lost (errors, harness.parallel.merge.add_lost), never silently missing,
    and the error names them beside the merged counts.
    """
    odd = [f"{w.label}: exit {c}" for w in workers for c in w.codes if c not in (0, 1)]
    if odd:
        lost = _lost(run_dir, items or [], root or Path.cwd())
        add_lost(run_dir, lost, f"the worker running it died ({', '.join(odd)}) before its feature ended")
        here = root or Path.cwd()
        folder = RunFolder(run_dir)
        folder.write_rerun([*folder.read_rerun(here), *(s.location for p in lost for s in p.scenarios)], here)
        counts = _merged(run_dir)
        named = [f"{p.location.rsplit(':', 1)[0]} ({', '.join(s.name for s in p.scenarios) or '?'})" for p in lost]
        raise HarnessError(f"behave exited abnormally ({', '.join(odd)}); "
                           + (f"{len(lost)} item(s) never finished and are lost: {'; '.join(named)}; "
                              if lost else "") + f"merged results: {counts}",
                           hint=f"run the lost items again (`harness run --rerun {run_dir}`); read the worker "
                                f"logs under {run_dir} "
                                f"({names.WORKER.format(n='*')}/{names.ATTEMPT.format(n='*')}/{names.BEHAVE_LOG})")

    run = load([str(run_dir)])
    write_junit(run_dir, run)
    failed = hook_failed(run) or any(s.status in PROBLEMS for s in run.scenarios())
    for scenario in [s for s in run.scenarios() if s.status in PROBLEMS][:20]:
        error = scenario.error.message.splitlines()[0] if scenario.error and scenario.error.message else ""
        print(f"  ✗ {scenario.location} {scenario.name}: {scenario.status} {error}"[:300], flush=True)
    print("harness run: " + summary(run), flush=True)
    return 1 if failed else 0


def _lost(run_dir: Path, items: list[shard.Item], root: Path) -> list[shard.Planned]:
    """Items of the plan no merged result covers, with their features' names, tags and scenarios."""
    try:
        run = load([str(run_dir)])
    except HarnessError:
        run = None
    scenarios = list(run.scenarios()) if run is not None else []
    done_features = {s.feature for s in scenarios}
    done_lines = {s.location for s in scenarios}
    return [shard.planned(root, item) for item in items
            if (item.location not in done_lines if ":" in item.location else item.feature not in done_features)]


def _merged(run_dir: Path) -> str:
    """The merged results' counts (lost scenarios included), with their JUnit written; or what is missing."""
    try:
        run = load([str(run_dir)])
    except HarnessError:
        return "nothing finished"
    write_junit(run_dir, run)
    return summary(run)


def summary(run: Any) -> str:
    """``12 scenarios: 10 passed, 1 flaky, 1 failed, 1 lost``: a scenario passed only on a retry is flaky; one
    whose worker died before writing it is lost (an error in the results)."""
    counts: dict[str, int] = {}
    for scenario in run.scenarios():
        flaky = scenario.status == "passed" and any(a != "passed" for a in scenario.attempts)
        lost = scenario.error is not None and scenario.error.type == LOST
        status = "flaky" if flaky else "lost" if lost else scenario.status
        counts[status] = counts.get(status, 0) + 1
    order = ["passed", "flaky", *sorted(set(counts) - {"passed", "flaky"})]
    return f"{sum(counts.values())} scenarios: " + ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))

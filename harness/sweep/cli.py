"""`harness sweep [--env ENV] [paths, --tags ...] [--faults KINDS] [--targets GLOBS] [--workers N] [--shard I/N]
[--budget MINUTES] [--scenario-timeout SECONDS] [--confirm N] [--onset SECONDS] [--idle-edges] [--baseline SWEEP]
[--smoke NAME] [--each-replica] [-P KIND.PARAM=VALUE] [--list]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.env.config import Settings
from harness.env.lifecycle import forward_signals_as_interrupt, new_run_id
from harness.errors import ConfigError
from harness.faults.kinds import DEFAULTS, EDGE_KINDS, SERVICE_KINDS
from harness.runfolder import RunFolder
from harness.sweep import merge, report
from harness.sweep.confirm import CONFIRM_DEFAULT
from harness.sweep.driver import Sweep, SweepOptions, SweepResult, plan, topology
from harness.sweep.expect import FILE, findings, load_expectations
from harness.sweep.expect import expected as expected_of
from harness.sweep.outcome import NO_RECOVERY
from harness.sweep.schedule import LIMIT_FACTOR, LIMIT_SLACK_S, parse_shard, parse_timeout, shard
from harness.sweep.space import describe, fault_space, parse_kinds, parse_overrides

EPILOG = f"""fault kinds: per service {', '.join(SERVICE_KINDS)}; per edge A->B {', '.join(EDGE_KINDS)}
(the test machine's edges: partition and reset). Parameters and defaults: {'; '.join(
    f"{k}: " + ', '.join(f'{p}={v:g}' for p, v in ps.items()) for k, ps in DEFAULTS.items())}.
Expectations: {FILE} in the project folder (`worker: {{kill: tolerated}}`).
Under a fault a scenario may take --scenario-timeout seconds (default: {LIMIT_FACTOR:g} x its slowest fault-free run
+ {LIMIT_SLACK_S:g} s); past it, it fails "timed out under <fault>" (a hang is a detection).
A detected cell, or one that differs from its expectation, is tried again up to --confirm N more times (default
{CONFIRM_DEFAULT}); when its tries disagree it is "intermittent" (expected tolerated: a finding, "sometimes breaks").
--shard I/N splits the whole fault space before the reduction; every shard's summary carries the space id.
Exit: 0 every cell ran, recovered and met its expectation; 1 a finding or a cell without recovery; 2 an error."""


def parser() -> argparse.ArgumentParser:
    """The sweep's own options; every other argument is the behave selection (paths, --tags)."""
    p = argparse.ArgumentParser(prog="harness sweep", allow_abbrev=False, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Run the selected scenarios under every fault the environment can "
                                            "suffer, and map what holds.")
    p.add_argument("--env", default="", help="the environment (default: the @env tag of the selection)")
    p.add_argument("--faults", default="", metavar="KINDS", help="comma-separated fault kinds (default: all)")
    p.add_argument("--targets", action="append", default=[], metavar="GLOB",
                   help="only targets (services, either end of an edge) matching a glob; repeatable")
    p.add_argument("--budget", type=float, metavar="MINUTES", help="stop cleanly after this long; list the rest")
    p.add_argument("--scenario-timeout", default="auto", metavar="SECONDS",
                   help="a scenario's limit under a fault: seconds, 0 for none, auto (default: from the baseline)")
    p.add_argument("--first-failure", action="store_true",
                   help="a cell stops at its first failing scenario: detected all the same, the rest not run")
    p.add_argument("--process-per-cell", action="store_true",
                   help="a new behave process for every cell and smoke run (default: one per worker, fed cell by cell)")
    p.add_argument("--confirm", type=int, default=CONFIRM_DEFAULT, metavar="N",
                   help="try a detected cell, or one that differs from its expectation, up to N more times; tries "
                        f"that disagree make it intermittent (default {CONFIRM_DEFAULT}; 0: believe one try)")
    p.add_argument("--onset", type=float, default=0.0, metavar="SECONDS",
                   help="hold each cut-off (kill, stop, pause, disconnected, partition, blackhole, reset) this long "
                        "before the scenario's first step, so that an effect noticed after a few heartbeats has set "
                        "in (default 0)")
    p.add_argument("--idle-edges", action="store_true",
                   help="count the edges of the idle stack (heartbeats, 2 s after the baseline) for every scenario: "
                        "a scenario shorter than a heartbeat is not left out of a cell in one sweep and kept in the "
                        "next (more scenario runs)")
    p.add_argument("--baseline-runs", type=int, default=2, metavar="N",
                   help="fault-free runs; a scenario that does not pass in every one is left out (default 2)")
    p.add_argument("--baseline", type=Path, metavar="SWEEP",
                   help="an earlier sweep (its run folder or its JSON summary)")
    p.add_argument("--smoke", default="", metavar="NAME", help="the recovery scenario (default: the first)")
    p.add_argument("--each-replica", action="store_true", help="every replica is a target of its own")
    p.add_argument("-P", dest="params", action="append", default=[], metavar="KIND.PARAM=VALUE",
                   help="override a fault parameter, e.g. -P latency.ms=200")
    p.add_argument("--list", action="store_true", help="print the cells and their parameters, run nothing")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="run the cells on N environments at once (each worker has its own)")
    p.add_argument("--shard", default="", metavar="I/N", help="run only shard I of N of the fault space (CI runners)")
    p.add_argument("--merge", nargs="+", type=Path, metavar="SWEEP",
                   help="merge these sweeps (shards' run folders or their JSON summaries) into one; run nothing")
    return p


def main(argv: list[str]) -> int:
    """Entry point of `harness sweep`."""
    args, selection = parser().parse_known_args(argv)
    if args.merge:
        return merge.run(args.merge, args.baseline)
    if args.confirm < 0 or args.onset < 0:
        raise ConfigError(f"{'--confirm' if args.confirm < 0 else '--onset'} must be 0 or more",
                          key="--confirm" if args.confirm < 0 else "--onset", hint="e.g. --confirm 1")
    if args.workers < 1 or args.baseline_runs < 1:
        raise ConfigError(f"{'--workers' if args.workers < 1 else '--baseline-runs'} must be 1 or more",
                          key="--workers" if args.workers < 1 else "--baseline-runs", hint="e.g. --workers 2")
    settings = Settings.build()
    options = SweepOptions(tuple(selection), args.env, tuple(parse_kinds(args.faults)), tuple(args.targets),
                           args.budget * 60 if args.budget is not None else None, args.smoke, args.each_replica,
                           parse_overrides(args.params), args.workers, parse_shard(args.shard),
                           parse_timeout(args.scenario_timeout), args.baseline_runs, args.first_failure,
                           not args.process_per_cell, args.confirm, args.onset, args.idle_edges)
    expectations = load_expectations(settings.root / FILE)
    before = report.read_outcomes(args.baseline) if args.baseline else None
    folder = RunFolder.new(settings.runs_dir, new_run_id())
    the_plan = plan(options, settings, folder.path)
    sweep = Sweep(options, settings, folder, expect=lambda cell: expected_of(expectations, cell))
    if args.list:
        cells = shard(fault_space(topology(sweep.environment(the_plan.env), options.overrides), options.kinds,
                                  options.globs, each_replica=options.each_replica), options.shard)
        print("\n".join(describe(cells)))
        print(f"{len(cells)} cells on {the_plan.env}; {len(the_plan.scenarios)} scenario(s) selected")
        return 0
    print(f"harness sweep {folder.run_id}: {len(the_plan.scenarios)} scenario(s) on {the_plan.env}; "
          f"files in {folder.path}", flush=True)
    forward_signals_as_interrupt()
    result = sweep.run(the_plan)
    found = findings(expectations, result.cells)
    labels = {c.fault.label: expected_of(expectations, c) for c in result.cells}
    changes = report.diff(before, {c.fault.label: c.outcome for c in result.cells}) if before is not None else []
    data = with_sweep_fields(report.to_json(result, found, labels, changes), result)
    files = report.write(folder, data)
    _summary(data, result.stopped, files)
    if result.stopped == "interrupted":
        return 130
    return 1 if found or any(c.outcome == NO_RECOVERY for c in result.cells) else 0


def with_sweep_fields(data: dict[str, object], result: SweepResult) -> dict[str, object]:
    """sweep.json's fields for a merge of shards and for the time split: ``sweep`` (space id, shard, workers,
    limits, flaky scenarios, phases) and, per cell, its ``key`` (the label), ``worker`` and ``phases``."""
    data["sweep"] = {
        "space_id": result.space_id, "space_cells": result.space_cells,
        "shard": list(result.shard) if result.shard else None, "workers": result.workers,
        "limits": result.limits, "flaky": [s.as_dict() for s in result.flaky], "phases": result.phases,
        "keys": [c.fault.label for c in result.cells]}
    by_label = {c.fault.label: c for c in result.cells}
    for cell in data.get("cells") or []:  # type: ignore[attr-defined]
        mine = by_label.get(str(cell.get("label")))
        cell["key"] = cell.get("label")
        cell["worker"] = mine.worker if mine is not None else 0
        cell["phases"] = dict(mine.phases) if mine is not None else {}
    return data


def _summary(data: dict[str, object], stopped: str, files: tuple[Path, ...]) -> None:
    overall = data["score"]["overall"]  # type: ignore[index]
    counts: dict[str, int] = {}
    for cell in data["cells"]:  # type: ignore[attr-defined]
        counts[cell["outcome"]] = counts.get(cell["outcome"], 0) + 1
    print("cells: " + ", ".join(f"{n} {outcome}" for outcome, n in counts.items()))
    reduction = data.get("reduction")
    if isinstance(reduction, dict):
        print(f"dynamic reduction: {reduction['runs']} scenario runs instead of {reduction['unreduced_runs']} "
              f"(saved {reduction['saved']})")
    print(f"resilience score: {overall[0]}/{overall[1]} exercised cells tolerated; wall time {data['wall_s']} s")
    for line in data["findings"]:  # type: ignore[attr-defined]
        print(f"finding: {line['cell']}: expected {line['expected']}, got {line['actual']} ({line['meaning']})")
    for line in data["changes"]:  # type: ignore[attr-defined]
        print(f"changed: {line}")
    if stopped:
        not_run = [c["label"] for c in data["cells"] if c["outcome"] == "not run"]  # type: ignore[attr-defined]
        print(f"stopped ({stopped}); did not run: {', '.join(not_run) or 'nothing'}", file=sys.stderr)
    print("results: " + " ".join(str(f) for f in files))

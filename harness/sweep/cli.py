"""`harness sweep [--env ENV] [paths, --tags ...] [--faults KINDS] [--targets GLOBS] [--budget MINUTES]
[--baseline SWEEP] [--smoke NAME] [--each-replica] [-P KIND.PARAM=VALUE] [--list]`."""

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
from harness.sweep.driver import Sweep, SweepOptions, plan, topology
from harness.sweep.expect import FILE, findings, load_expectations
from harness.sweep.expect import expected as expected_of
from harness.sweep.outcome import NO_RECOVERY
from harness.sweep.space import describe, fault_space, parse_kinds, parse_overrides

EPILOG = f"""fault kinds: per service {', '.join(SERVICE_KINDS)}; per edge A->B {', '.join(EDGE_KINDS)}
(the test machine's edges: partition and reset). Parameters and defaults: {'; '.join(
    f"{k}: " + ', '.join(f'{p}={v:g}' for p, v in ps.items()) for k, ps in DEFAULTS.items())}.
Expectations: {FILE} in the project folder (`worker: {{kill: tolerated}}`).
--workers and --shard are not yet supported (one worker, one machine).
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
    p.add_argument("--baseline", type=Path, metavar="SWEEP",
                   help="an earlier sweep (its run folder or its JSON summary)")
    p.add_argument("--smoke", default="", metavar="NAME", help="the recovery scenario (default: the first)")
    p.add_argument("--each-replica", action="store_true", help="every replica is a target of its own")
    p.add_argument("-P", dest="params", action="append", default=[], metavar="KIND.PARAM=VALUE",
                   help="override a fault parameter, e.g. -P latency.ms=200")
    p.add_argument("--list", action="store_true", help="print the cells and their parameters, run nothing")
    p.add_argument("--workers", type=int, default=1, help="not yet supported")
    p.add_argument("--shard", default="", help="not yet supported")
    p.add_argument("--merge", nargs="+", type=Path, metavar="SWEEP",
                   help="merge these sweeps (shards' run folders or their JSON summaries) into one; run nothing")
    return p


def main(argv: list[str]) -> int:
    """Entry point of `harness sweep`."""
    args, selection = parser().parse_known_args(argv)
    if args.merge:
        return merge.run(args.merge, args.baseline)
    if args.workers != 1 or args.shard:
        raise ConfigError("--workers and --shard are not yet supported by `harness sweep`",
                          key="--workers" if args.workers != 1 else "--shard",
                          hint="run one sweep per machine with --targets or --faults to divide the work")
    settings = Settings.build()
    options = SweepOptions(tuple(selection), args.env, tuple(parse_kinds(args.faults)), tuple(args.targets),
                           args.budget * 60 if args.budget is not None else None, args.smoke, args.each_replica,
                           parse_overrides(args.params))
    expectations = load_expectations(settings.root / FILE)
    before = report.read_outcomes(args.baseline) if args.baseline else None
    folder = RunFolder.new(settings.runs_dir, new_run_id())
    the_plan = plan(options, settings, folder.path)
    sweep = Sweep(options, settings, folder)
    if args.list:
        cells = fault_space(topology(sweep.environment(the_plan.env), options.overrides), options.kinds,
                            options.globs, each_replica=options.each_replica)
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
    data = report.to_json(result, found, labels, changes)
    files = report.write(folder, data)
    _summary(data, result.stopped, files)
    if result.stopped == "interrupted":
        return 130
    return 1 if found or any(c.outcome == NO_RECOVERY for c in result.cells) else 0


def _summary(data: dict[str, object], stopped: str, files: tuple[Path, ...]) -> None:
    overall = data["score"]["overall"]  # type: ignore[index]
    print(f"resilience score: {overall[0]}/{overall[1]} exercised cells tolerated; wall time {data['wall_s']} s")
    for line in data["findings"]:  # type: ignore[attr-defined]
        print(f"finding: {line['cell']}: expected {line['expected']}, got {line['actual']} ({line['meaning']})")
    for line in data["changes"]:  # type: ignore[attr-defined]
        print(f"changed: {line}")
    if stopped:
        not_run = [c["label"] for c in data["cells"] if c["outcome"] == "not run"]  # type: ignore[attr-defined]
        print(f"stopped ({stopped}); did not run: {', '.join(not_run) or 'nothing'}", file=sys.stderr)
    print("results: " + " ".join(str(f) for f in files))

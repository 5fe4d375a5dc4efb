"""Every file and folder name of a run folder, defined once (the rest of harness spells none of them).

    .harness/runs/                  RUNS_DIR; LATEST links to the newest run
      <run-id>/                     a run (also a worker's attempt, a shard's run)
        record.ndjson behave.json rerun.txt behave.log junit/TESTS-harness-run.xml
        workers.json claims/{items.txt,serial.txt,<location>} turns.lock serial.gate   a split run
        w1/ w2/ serial/             a split run's workers: attempt-1/ attempt-2/ ... (each a run folder
                                    with scenarios.over) and the environments the worker started
        sweep.json sweep.md sweep.html   a sweep's summary (harness.sweep)
        baseline/ cells/NNN-<slug>/ smoke/NNN/   a sweep's behave runs (each a run folder)
        baseline-N/ workers/      a sweep's later fault-free runs; the environments of its workers 2..N
        worker-N.log cells/NNN-<slug>/cell.json   a sweep worker's behave process: its log, each answer
        observed.ndjson           a sweep baseline's connections per scenario (harness.runfolder.observed)
        <env>/                      one environment brought up
          compose.yaml compose.rendered.yaml compose-up.log watchdog.log startup.json
          timeline.ndjson           fault events (harness.runfolder.timeline)
          load/NNN-<mode>.json      load runs (harness.runfolder.load); a split run gathers wN-NNN-<mode>.json
          failures/NNN-<slug>.log   service logs at a failing step
          logs/compose.log inspect/<container>.json   a start-up failure
"""

from __future__ import annotations

from pathlib import Path

RUNS_DIR = Path(".harness") / "runs"  # relative to the project root (Settings.runs_dir is the absolute one)
LATEST = "latest"  # a symlink beside the runs: the newest run

# a run folder (also each attempt of a split run's worker)
RECORD = "record.ndjson"
BEHAVE_JSON = "behave.json"
RERUN = "rerun.txt"
BEHAVE_LOG = "behave.log"
JUNIT = "junit"
MERGED_JUNIT = "TESTS-harness-run.xml"
SCENARIOS_OVER = "scenarios.over"  # an attempt's marker: its last scenario has ended (harness.parallel.gate)

# a split run (harness.parallel)
WORKERS = "workers.json"
CLAIMS = "claims"
CLAIM_ITEMS = "items.txt"
CLAIM_SERIAL = "serial.txt"
TURNS_LOCK = "turns.lock"
SERIAL_GATE = "serial.gate"
WORKER = "w{n}"
SERIAL_WORKER = "serial"
ATTEMPT = "attempt-{n}"
ATTEMPT_PREFIX = "attempt-"

# a sweep (harness.sweep)
SWEEP_JSON = "sweep.json"
SWEEP_MD = "sweep.md"
SWEEP_HTML = "sweep.html"
SWEEP_BASELINE = "baseline"
SWEEP_BASELINE_AGAIN = "baseline-{n}"
SWEEP_WORKERS = "workers"
SWEEP_ANSWER = "cell.json"
SWEEP_WORKER_LOG = "worker-{n}.log"
SWEEP_CELLS = "cells"
SWEEP_CELL = "{number:03d}-{slug}"
SWEEP_SMOKE = "smoke"
OBSERVED = "observed.ndjson"

# an environment's folder
COMPOSE_FILE = "compose.yaml"
RENDERED = "compose.rendered.yaml"
COMPOSE_UP_LOG = "compose-up.log"
WATCHDOG_LOG = "watchdog.log"
STARTUP = "startup.json"
TIMELINE = "timeline.ndjson"
LOAD = "load"
LOAD_RESULT = "{number:03d}-{mode}.json"
GATHERED = "{worker}-{name}"  # a worker's file gathered into the run's environment folder
FAILURES = "failures"
FAILURE_LOG = "{number:03d}-{slug}.log"
LOGS = "logs"
STARTUP_LOG = "compose.log"
INSPECT = "inspect"
INSPECT_FILE = "{name}.json"

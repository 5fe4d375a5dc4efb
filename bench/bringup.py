"""Bring-up and teardown: the harness vs `docker compose up -d --wait` on the same compose file.

For each of N repetitions (medians reported): `Environment.start()` until every probe answers
vs `docker compose up -d --wait` with healthchecks equivalent to the probes (1 s interval, the
common setting), then `Environment.down()` vs `docker compose down -v`.
Last line: ratio_up=<harness/compose> ratio_down=<harness/compose>. Goals: <= 0.7 and <= 1.1.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.config import ServiceSpec, Settings, load_environment, resolve_parameters  # noqa: E402
from harness.lifecycle import Environment, new_run_id  # noqa: E402
from harness.progress import Progress  # noqa: E402


class Quiet(Progress):
    """No progress output during the benchmark."""

    def update(self, ready: list[str], waiting: Any) -> None:
        pass

    def done(self, message: str) -> None:
        pass


def healthcheck_for(spec: ServiceSpec | None) -> dict[str, Any] | None:
    """A compose healthcheck equivalent to the harness probe (1 s interval)."""
    if spec is None or spec.probe.kind in ("healthcheck", "running"):
        return None
    if spec.probe.kind == "http":
        code = (f"import urllib.request,sys; r=urllib.request.urlopen('http://127.0.0.1:{spec.port}"
                f"{spec.probe.path}', timeout=2); sys.exit(r.status != {spec.probe.status})")
    else:
        code = f"import socket; socket.create_connection(('127.0.0.1', {spec.port}), timeout=2)"
    return {"test": ["CMD", "python3", "-c", code], "interval": "1s", "timeout": "2s", "retries": 60}


def compose_file_for_peer(env: Environment, target: Path) -> Path:
    """The harness's rendered compose file, plus equivalent healthchecks, minus harness labels."""
    doc = yaml.safe_load(env.compose_file.read_text())
    peer = copy.deepcopy(doc)
    for name, service in peer["services"].items():
        check = healthcheck_for(env.spec.service_spec(name))
        if check:
            service["healthcheck"] = check
        service["labels"] = {k: v for k, v in service.get("labels", {}).items() if not k.startswith("harness.")}
    target.write_text(yaml.safe_dump(peer, sort_keys=False))
    return target


def ready_after_start(env: Environment) -> dict[str, float]:
    """Seconds from each container's start (engine's StartedAt) to its probe's first answer."""
    result = {}
    for name, svc in env.services.items():
        if name in env.ready_at and svc.replicas:
            started = env.docker.api.inspect_container(svc.replicas[0].id)["State"]["StartedAt"]
            stamp = datetime.datetime.fromisoformat(started[:26].rstrip("Z") + "+00:00").timestamp()
            result[name] = env.ready_at[name] - stamp
    return result


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compose(project: str, file: Path, *args: str) -> None:
    subprocess.run(["docker", "compose", "-p", project, "-f", str(file), *args], check=True,
                   capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="full-stack")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    settings = Settings(root=ROOT)
    if not (settings.env_dir / f"{args.env}.yaml").exists():
        args.env = "example"
    spec = load_environment(args.env, settings.env_dir)
    params = resolve_parameters(spec, {}, environ={})
    rows: dict[str, list[float]] = {"harness up": [], "compose up --wait": [], "harness down": [],
                                    "compose down": []}
    after_start: dict[str, list[float]] = {}
    for _ in range(args.repetitions):
        env = Environment(spec, params, settings, run_id=new_run_id(), progress=Quiet(spec.name))
        rows["harness up"].append(timed(env.start))
        for service, seconds in ready_after_start(env).items():
            after_start.setdefault(service, []).append(seconds)
        peer_file = compose_file_for_peer(env, env.run_dir / "peer-compose.yaml")
        rows["harness down"].append(timed(env.down))
        project = env.project + "-peer"
        try:
            rows["compose up --wait"].append(timed(lambda p=project, f=peer_file: compose(p, f, "up", "-d", "--wait")))
        finally:
            rows["compose down"].append(timed(lambda p=project, f=peer_file: compose(p, f, "down", "-v")))
    medians = {name: statistics.median(values) for name, values in rows.items()}
    print(f"bring-up of `{args.env}` ({len(env.services)} services), {args.repetitions} repetitions, medians\n")
    print("| what | median s | all runs |\n|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {medians[name]:.2f} | {' '.join(f'{v:.2f}' for v in values)} |")
    print("\nservice ready after its container started (median s, probe to first answer):")
    print("  " + "  ".join(f"{name} {statistics.median(v):.2f}" for name, v in sorted(after_start.items())))
    ratio_up = medians["harness up"] / medians["compose up --wait"]
    ratio_down = medians["harness down"] / medians["compose down"]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bringup.json").write_text(json.dumps(
        {"env": args.env, "runs": rows, "medians": medians, "ready_after_start": after_start,
         "ratio_up": ratio_up, "ratio_down": ratio_down},
        indent=2))
    print(f"\nratio_up={ratio_up:.2f} ratio_down={ratio_down:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

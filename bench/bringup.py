"""Bring-up and teardown: the harness vs `docker compose up -d --wait` on the same compose file.

Like for like: the peer's healthchecks test the same readiness condition as the harness's probes
(same path, status and body match) at the same interval (the environment's `probe_interval`,
0.2 s for full-stack); the order of harness and peer alternates every round. The floor is the same
bring-up polled every 10 ms (`compose up -d` overlapped with the same probes): what any tool would
pay for starting these containers and these processes on this machine.
For each of N rounds (medians reported): `Environment.start()` until every probe answers vs
`docker compose up -d --wait`, then `Environment.down()` vs `docker compose down -v`.
Last line: ratio_up=<harness/compose> ratio_down=<harness/compose> floor_ratio=<harness/floor>.
Goals: ratio_up <= 0.7, ratio_down <= 1.1.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.env.config import Settings, load_environment, resolve_parameters  # noqa: E402
from harness.env.lifecycle import Environment, new_run_id  # noqa: E402
from harness.env.progress import Progress  # noqa: E402
from harness.env.render import secret_environment  # noqa: E402
from harness.env.spec import ServiceSpec  # noqa: E402


class Quiet(Progress):
    """No progress output during the benchmark."""

    def update(self, ready: list[str], waiting: Any) -> None:
        pass

    def done(self, message: str) -> None:
        pass


def healthcheck_for(spec: ServiceSpec | None, interval: float) -> dict[str, Any] | None:
    """A compose healthcheck testing what the harness probe tests (status and body), at the same interval."""
    if spec is None or spec.probe.kind in ("healthcheck", "running"):
        return None
    if spec.probe.kind == "http":
        code = (f"import urllib.request,sys,re; r=urllib.request.urlopen('http://127.0.0.1:{spec.port}"
                f"{spec.probe.path}', timeout=2); b=r.read().decode('utf-8', 'replace'); "
                f"sys.exit(0 if r.status == {spec.probe.status} and re.search({spec.probe.body!r}, b) else 1)")
    else:
        code = f"import socket; socket.create_connection(('127.0.0.1', {spec.port}), timeout=2)"
    retries = int(120 / interval)
    return {"test": ["CMD", "python3", "-c", code], "interval": f"{int(interval * 1000)}ms", "timeout": "2s",
            "retries": retries}


def compose_file_for_peer(env: Environment, target: Path) -> Path:
    """The harness's rendered compose file, plus equivalent healthchecks, minus harness labels."""
    doc = yaml.safe_load(env.compose_file.read_text())
    peer = copy.deepcopy(doc)
    for name, service in peer["services"].items():
        check = healthcheck_for(env.spec.service_spec(name), env.spec.timeouts.probe_interval)
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


def compose(project: str, file: Path, *args: str, secrets: dict[str, str] | None = None) -> None:
    subprocess.run(["docker", "compose", "-p", project, "-f", str(file), *args], check=True,
                   capture_output=True, text=True, env={**os.environ, **(secrets or {})})


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
    floor_spec = dataclasses.replace(spec, timeouts=dataclasses.replace(spec.timeouts, probe_interval=0.01))
    rows: dict[str, list[float]] = {"harness up": [], "compose up --wait": [], "floor up (10 ms polling)": [],
                                    "harness down": [], "compose down": []}
    after_start: dict[str, list[float]] = {}
    load_before = os.getloadavg()[0]
    # The peer runs the file the harness renders (plus equivalent healthchecks), rendered once.
    env = Environment(spec, params, settings, run_id=new_run_id(), progress=Quiet(spec.name))
    env.run_dir.mkdir(parents=True, exist_ok=True)
    env.preparer.render()  # only the rendered file is wanted
    peer_file = compose_file_for_peer(env, env.run_dir / "peer-compose.yaml")
    secrets = secret_environment(spec, params)  # the rendered file refers to them as ${HARNESS_SECRET_…}

    def ours() -> None:
        mine = Environment(spec, params, settings, run_id=new_run_id(), progress=Quiet(spec.name))
        rows["harness up"].append(timed(mine.start))
        for service, seconds in ready_after_start(mine).items():
            after_start.setdefault(service, []).append(seconds)
        rows["harness down"].append(timed(mine.down))

    def peer() -> None:
        project = f"hpeer{new_run_id().replace('-', '')[-12:]}"
        try:
            rows["compose up --wait"].append(timed(lambda: compose(project, peer_file, "up", "-d", "--wait",
                                                                             secrets=secrets)))
        finally:
            rows["compose down"].append(timed(lambda: compose(project, peer_file, "down", "-v", secrets=secrets)))

    def floor() -> None:
        fast = Environment(floor_spec, params, settings, run_id=new_run_id(), progress=Quiet(spec.name))
        try:
            rows["floor up (10 ms polling)"].append(timed(fast.start))
        finally:
            fast.down()

    for round_no in range(args.repetitions):
        for run in ((ours, peer, floor) if round_no % 2 == 0 else (peer, floor, ours)):
            run()
    medians = {name: statistics.median(values) for name, values in rows.items()}
    print(f"bring-up of `{args.env}` ({len(env.services)} services), {args.repetitions} repetitions, medians\n")
    print("| what | median s | all runs |\n|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {medians[name]:.2f} | {' '.join(f'{v:.2f}' for v in values)} |")
    print("\nservice ready after its container started (median s, probe to first answer):")
    print("  " + "  ".join(f"{name} {statistics.median(v):.2f}" for name, v in sorted(after_start.items())))
    ratio_up = medians["harness up"] / medians["compose up --wait"]
    ratio_down = medians["harness down"] / medians["compose down"]
    floor_ratio = medians["harness up"] / medians["floor up (10 ms polling)"]
    load_after = os.getloadavg()[0]
    print(f"\nfloor (same bring-up, probes every 10 ms): {medians['floor up (10 ms polling)']:.2f} s; "
          f"load average before/after: {load_before:.2f}/{load_after:.2f} on {os.cpu_count()} cores")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bringup.json").write_text(json.dumps(
        {"env": args.env, "runs": rows, "medians": medians, "ready_after_start": after_start,
         "ratio_up": ratio_up, "ratio_down": ratio_down, "floor_ratio": floor_ratio,
         "probe_interval": spec.timeouts.probe_interval, "load_average": [load_before, load_after]},
        indent=2))
    print(f"\nratio_up={ratio_up:.2f} ratio_down={ratio_down:.2f} floor_ratio={floor_ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

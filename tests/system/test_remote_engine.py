"""The reference `minimal` environment on a second, remote Docker engine (issue 12, item 5).

The second engine is Debian's docker.io in a container on a network this test creates, answering
on tcp://<its address>:2375 (no TLS; the traffic stays on this machine). With DOCKER_HOST pointing
there, the harness brings `minimal` up through its public API: the remote engine starts without
our images, so the harness copies them from the local engine; service URLs use the engine's
address; a partition (through the netns helper container, since nsenter cannot reach a remote
engine's namespaces) cuts traffic and its undo restores it; a kill stops a container; and after
`down` nothing with the harness's labels is left on either engine. A Docker context naming the
same engine selects it too (the SDK is given the context's endpoint). The engine container, its
volume and its network are removed in the fixture's teardown, also on failure.

The engine container runs --privileged. Where the local engine cannot grant that (its bounding
set lacks a capability, as on machines whose dockerd lacks CAP_SYS_RESOURCE), it runs with every
capability the engine has, unconfined seccomp/AppArmor/system paths and every device instead; the
entrypoint then remounts /sys and the cgroup hierarchies read-write itself.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import docker
import docker.errors
import pytest
from docker.models.containers import Container

from harness.engine.endpoint import DEFAULT_ENDPOINT, Engine, current_engine
from harness.env.config import Settings, load_environment, resolve_parameters
from harness.env.images import base_image_from_env
from harness.env.lifecycle import Environment, new_run_id
from harness.faults import FaultStack, HelperRunner, Kill, Partition, binding
from harness.waiting import poll
from tests.system.helpers import ground_copy, harness, no_traceback, start, wait_started

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
CONTEXT = Path(__file__).with_name("remote_engine")
API_PORT = 2375
ENGINE_READY_TIMEOUT = 60.0
# Linux capability numbers -> the names docker takes (include/uapi/linux/capability.h).
CAPABILITIES = ("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
                "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO "
                "SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME "
                "SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG "
                "WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE").split()


@dataclass(frozen=True)
class RemoteEngine:
    """The second engine: its container on the local engine, its address and endpoint."""

    container: Container
    ip: str

    @property
    def endpoint(self) -> str:
        """``tcp://<ip>:2375``."""
        return f"tcp://{self.ip}:{API_PORT}"

    def client(self) -> docker.DockerClient:
        """An SDK client for the remote engine."""
        return docker.DockerClient(base_url=self.endpoint, timeout=60)


def _local_environ() -> dict[str, str]:
    """Our environment without anything that would point the docker CLI elsewhere."""
    return {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}


def engine_image(local: docker.DockerClient) -> str:
    """The engine image, built FROM the harness base image once per content hash."""
    base = base_image_from_env()
    try:
        base_id = local.images.get(base).id
    except docker.errors.ImageNotFound:
        pytest.fail(f"the base image {base} is not on the local engine\nHint: `make setup` builds it")
    digest = hashlib.sha256(base_id.encode())
    for path in sorted(CONTEXT.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    tag = f"harness-remote-engine:{digest.hexdigest()[:12]}"
    try:
        local.images.get(tag)
    except docker.errors.ImageNotFound:
        subprocess.run(["docker", "build", "-q", "--build-arg", f"BASE={base}", "-t", tag, str(CONTEXT)],
                       check=True, capture_output=True, text=True, timeout=900, env=_local_environ())
        for outdated in local.images.list(name=tag.split(":")[0]):  # earlier recipes: 585 MB each
            if tag not in outdated.tags:
                try:
                    local.images.remove(outdated.id, force=True)
                except docker.errors.APIError:
                    pass  # in use by another run's engine: the next build removes it
    return tag


def missing_capabilities() -> list[str]:
    """Capabilities this machine's bounding set lacks (the engine, here on this machine, cannot grant them)."""
    status = Path("/proc/self/status").read_text()
    bounding = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapBnd")), 16)
    return [name for bit, name in enumerate(CAPABILITIES) if not bounding >> bit & 1]


def start_engine(local: docker.DockerClient, image: str, name: str, network: str, volume: str) -> Container:
    """Run the engine container privileged, else with every capability the local engine can grant."""
    common = ["--name", name, "--network", network, "--label", f"harness.test={name}",
              "--volume", f"{volume}:/var/lib/docker"]
    done = _docker_run([*common, "--privileged", image])
    if done.returncode != 0 and "caps" in done.stderr:
        local.containers.get(name).remove(force=True, v=True)  # created, but it could not start
        fallback = ["--cap-add", "ALL", *(arg for cap in missing_capabilities() for arg in ("--cap-drop", cap)),
                    "--device-cgroup-rule", "a *:* rwm", "--security-opt", "seccomp=unconfined",
                    "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined"]
        done = _docker_run([*common, *fallback, image])
    assert done.returncode == 0, f"the engine container did not start: {done.stderr}"
    return local.containers.get(name)


def _docker_run(args: list[str]) -> subprocess.CompletedProcess[str]:
    # the CLI, not the SDK: the SDK cannot say systempaths=unconfined (unmasked /proc) for the fallback
    return subprocess.run(["docker", "run", "--detach", *args], capture_output=True, text=True, timeout=60,
                          env=_local_environ())


def wait_for_engine(endpoint: str) -> None:
    """Until `docker -H ENDPOINT info` answers."""
    def answers() -> None:
        done = subprocess.run(["docker", "-H", endpoint, "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=10, env=_local_environ())
        assert done.returncode == 0, done.stderr
    poll(answers, timeout=ENGINE_READY_TIMEOUT, interval=0.25, retry_on=(AssertionError,))


@pytest.fixture(scope="module")
def local() -> docker.DockerClient:
    """A client for this machine's engine, whatever DOCKER_HOST says."""
    return Engine(DEFAULT_ENDPOINT).client()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def remote_engine(local: docker.DockerClient) -> Iterator[RemoteEngine]:
    """A second engine in a container on a fresh network; engine, volume and network removed afterwards."""
    image = engine_image(local)
    token = secrets.token_hex(4)
    name = f"harness-remote-engine-{token}"
    labels = {"harness.test": name}
    network = local.networks.create(name, driver="bridge", labels=labels)
    volume = local.volumes.create(name, labels=labels)
    container: Container | None = None
    try:
        container = start_engine(local, image, name, name, name)
        container.reload()
        engine = RemoteEngine(container, container.attrs["NetworkSettings"]["Networks"][name]["IPAddress"])
        try:
            wait_for_engine(engine.endpoint)
        except Exception:
            print(container.logs(tail=40).decode(errors="replace"))
            raise
        yield engine
    finally:
        if container is not None:
            container.remove(force=True, v=True)
        volume.remove(force=True)
        network.remove()
    assert not local.containers.list(all=True, filters={"label": f"harness.test={name}"})


def labelled(client: docker.DockerClient, label: str) -> dict[str, list[str]]:
    """Containers, networks and volumes carrying ``label``, by kind (empty lists when none)."""
    filters = {"label": label}
    return {"containers": [c.name for c in client.containers.list(all=True, filters=filters)],
            "networks": [n.name for n in client.networks.list(filters=filters)],
            "volumes": [v.name for v in client.volumes.list(filters=filters)]}


def answer_seconds(client: Container, url: str) -> float:
    """How long ``client`` waits for the answer to GET url (from inside its namespace)."""
    script = ("import time, urllib.request; t = time.monotonic(); "
              f"urllib.request.urlopen({url!r}, timeout=10).read(); print(time.monotonic() - t)")
    result = client.exec_run(["python3", "-c", script])
    assert result.exit_code == 0, result.output
    return float(result.output.decode().strip().splitlines()[-1])


def reaches(client: Container, host: str, port: int) -> bool:
    """Whether ``client`` opens a TCP connection to host:port within 1 s (from inside its namespace)."""
    script = f"import socket; socket.create_connection(({host!r}, {port}), timeout=1).close()"
    return client.exec_run(["python3", "-c", script]).exit_code == 0


def test_minimal_environment_comes_up_breaks_and_goes_away_on_a_remote_engine(
        remote_engine: RemoteEngine, local: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", remote_engine.endpoint)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    engine = current_engine()
    assert (engine.local, engine.host, engine.publish_ip) == (False, remote_engine.ip, "0.0.0.0")
    remote = remote_engine.client()
    assert remote.images.list() == [], "the remote engine starts without images"

    settings = Settings(root=REPO)
    spec = load_environment("minimal", settings.env_dir)
    env = Environment(spec, resolve_parameters(spec, {}, environ={}), settings, run_id=new_run_id())
    assert env.engine == engine
    try:
        env.start()
        watchdog = env.watchdog.process
        assert watchdog is not None, "the watchdog runs"
        assert f"DOCKER_HOST={remote_engine.endpoint}".encode() in Path(f"/proc/{watchdog.pid}/environ").read_bytes(), \
            "the watchdog takes down the project on the same engine"
        stack_image = env.container("queen").image.tags[0]
        assert remote.images.get(stack_image), "the harness copied the stack image to the remote engine"
        url = env.url("queen")
        assert urlsplit(url).hostname == remote_engine.ip
        with urllib.request.urlopen(url + "/health", timeout=5) as response:
            assert response.status == 200 and b'"ok"' in response.read()
        assert env.logs("queen").strip(), "compose logs reach the remote engine"

        queen, hive = env.container("queen"), env.container("hive-1")
        with FaultStack() as faults:
            assert reaches(queen, "hive-1", 9200)
            partition = faults.inject(Partition(queen, hive))
            assert isinstance(partition.runner, HelperRunner), "nsenter cannot enter a remote engine's namespaces"
            assert not reaches(queen, "hive-1", 9200) and not reaches(hive, "queen", 8080)
            faults.revert(partition)
            assert reaches(queen, "hive-1", 9200) and reaches(hive, "queen", 8080)

            # a link fault: the fault proxy is built and started on the remote engine, its control API
            # published there and reached at the engine's address
            latency = faults.inject(binding.latency(env, "queen", "hive-1", 400, port=9200))
            assert answer_seconds(queen, "http://hive-1:9200/health/live") >= 0.4
            assert latency.proxy is not None and remote_engine.ip in latency.proxy.client.base_url
            faults.revert(latency)
            assert answer_seconds(queen, "http://hive-1:9200/health/live") < 0.4

            worker = env.container("worker-1-1")
            faults.inject(Kill(worker))
            worker.reload()
            assert worker.attrs["State"]["Running"] is False
            assert worker.attrs["State"]["ExitCode"] == 137
    finally:
        env.down()

    left = labelled(remote, f"harness.run={env.run_id}")
    assert left == {"containers": [], "networks": [], "volumes": []}, left
    assert labelled(remote, "harness.role=netns-helper")["containers"] == []
    left_here = labelled(local, f"harness.run={env.run_id}")
    assert left_here == {"containers": [], "networks": [], "volumes": []}, left_here


def test_a_docker_context_selects_the_remote_engine_for_the_sdk_and_the_cli(
        remote_engine: RemoteEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "docker-config"  # a CLI config of our own: the machine's stays untouched
    config.mkdir()
    plugins = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "cli-plugins"
    if plugins.is_dir():
        (config / "cli-plugins").symlink_to(plugins)
    cli_env = {**_local_environ(), "DOCKER_CONFIG": str(config)}
    name = f"harness-remote-{secrets.token_hex(3)}"
    for argv in (["context", "create", name, "--docker", f"host={remote_engine.endpoint}"], ["context", "use", name]):
        subprocess.run(["docker", *argv], env=cli_env, check=True, capture_output=True, text=True, timeout=30)
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)

    engine = current_engine()
    assert (engine.source, engine.context, engine.endpoint) == ("context", name, remote_engine.endpoint)
    assert not engine.local and engine.host == remote_engine.ip
    remote_id = remote_engine.client().info()["ID"]
    assert engine.client().info()["ID"] == remote_id, "the SDK reaches the context's engine"
    child = subprocess.run(["docker", "compose", "ls"], env={**cli_env, **engine.environ()}, capture_output=True,
                           text=True, timeout=30)
    assert child.returncode == 0, child.stderr
    info = subprocess.run(["docker", "info", "--format", "{{.ID}}"], env={**cli_env, **engine.environ()},
                          capture_output=True, text=True, timeout=30)
    assert info.stdout.strip() == remote_id, "a child process pinned with engine.environ() reaches it too"


# --- the engine restarts mid-scenario (issue 28; last: it restarts the engine the tests above share) ----------


@pytest.fixture
def ground(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/ground (one tiny environment with short timeouts)."""
    return ground_copy(tmp_path)


def test_an_engine_restart_mid_scenario_fails_that_scenario_and_keeps_every_result(
        ground: Path, remote_engine: RemoteEngine) -> None:
    endpoint = {"DOCKER_HOST": remote_engine.endpoint}
    began = time.monotonic()
    proc, run_id = start(ground, "features/engine_restart.feature", **endpoint)
    wait_started(ground, timeout=180)  # the second scenario started
    remote_engine.container.restart(timeout=5)
    wait_for_engine(remote_engine.endpoint)
    out, _ = proc.communicate(timeout=300)
    took = time.monotonic() - began
    no_traceback(out)
    assert proc.returncode == 2, out  # the ground broke: not a verdict on the product
    assert "EnvironmentStopped: every container of environment 'tiny'" in out, out
    assert "the Docker engine restarted" in out
    assert "2 scenarios passed, 1 failed" in out or "2 scenarios passed, 0 failed, 1 hook_error" in out, out
    assert took < 150, f"later scenarios start fresh at once: {took:.0f} s"
    run_dir = ground / ".harness" / "runs" / run_id
    assert {"record.ndjson", "behave.json"} <= {p.name for p in run_dir.iterdir()}
    assert list((run_dir / "junit").glob("*.xml")), "JUnit of the finished scenarios"
    analyzed = harness(ground, "analyze", str(run_dir))
    assert analyzed.returncode == 1, analyzed.stdout + analyzed.stderr
    assert "3 scenarios" in analyzed.stdout or "2 scenarios passed" in analyzed.stdout, analyzed.stdout
    gc = harness(ground, "gc", DOCKER_HOST=remote_engine.endpoint)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    assert not remote_engine.client().containers.list(all=True, filters={"label": "harness.run"})

"""Environment with an injected compose runner and Docker client: the bring-up wiring, no Docker needed."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from harness.engine.compose import ComposeRunner
from harness.env.config import Settings
from harness.env.lifecycle import DETACHED, Environment
from harness.env.spec import EnvironmentSpec, Parameter


class FakeCompose:
    """Records every compose call; `up` in the background finishes at once."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def run(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append({"argv": argv, **kw})
        return subprocess.CompletedProcess(argv, 0, "", "")

    def popen(self, argv: list[str], **kw: Any) -> Any:
        self.calls.append({"argv": argv, **kw})
        done = subprocess.Popen(["true"])
        done.wait()
        return done


class FakeApi:
    def __init__(self) -> None:
        self.up = True

    def containers(self, **_: Any) -> list[dict[str, Any]]:
        if not self.up:
            return []
        return [{"Id": "c1", "Names": ["/p-web-1"], "State": "running", "Status": "Up 1 second",
                 "Labels": {"com.docker.compose.service": "web"},
                 "Ports": [{"PrivatePort": 80, "PublicPort": 43210, "IP": "127.0.0.1"}]}]

    def inspect_image(self, ref: str) -> dict[str, str]:
        return {"Id": "sha256:" + ref}


class FakeDocker:
    def __init__(self) -> None:
        self.api = FakeApi()


def test_start_uses_the_injected_runner_and_client(tmp_path: Path) -> None:
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "t.yaml.j2").write_text(
        'services:\n  web:\n    image: x\n    ports: ["8080:80"]\n    environment: {PW: "{{ pw }}"}\n')
    spec = EnvironmentSpec(name="e", file=tmp_path / "e.yaml", description="", template="t.yaml.j2",
                           parameters={"pw": Parameter("pw", "hunter2-x", secret=True)}, services=())
    fake, docker = FakeCompose(), FakeDocker()
    runner = ComposeRunner("proj", [tmp_path / "c.yaml"], project_directory=tmp_path / "compose",
                           env={"HARNESS_SECRET_PW": "hunter2-x"}, run=fake.run, popen=fake.popen)
    env = Environment(spec, {"pw": "hunter2-x"}, Settings(root=tmp_path), run_id="r1", owner=DETACHED,
                      docker=docker, compose=runner)
    with env:
        assert env.url("web", 80) == "http://127.0.0.1:43210" and env.problems() == []
        assert "web" in env.ready_at and env.source_dir == (tmp_path / "compose").resolve()
        docker.api.up = False
    commands = [call["argv"][8:10] if "-f" in call["argv"] else [] for call in fake.calls]
    assert [c[0] for c in commands] == ["config", "up", "down"]
    assert all(call["env"]["HARNESS_SECRET_PW"] == "hunter2-x" for call in fake.calls)
    assert "--pull" in fake.calls[1]["argv"] and fake.calls[1]["argv"][-1] == "never", "every image is local"
    decorated = env.compose_file.read_text()
    assert "hunter2-x" not in decorated and "${HARNESS_SECRET_PW}" in decorated and "127.0.0.1::80" in decorated


def test_the_default_runner_resolves_paths_from_the_template_folder(tmp_path: Path) -> None:
    spec = EnvironmentSpec(name="e", file=tmp_path / "e.yaml", description="", template="/team/stack/c.yaml.j2",
                           parameters={"k": Parameter("k", "v", secret=True)}, services=())
    env = Environment(spec, {"k": "v"}, Settings(root=tmp_path), run_id="r1", docker=FakeDocker())
    assert env.compose.project_directory == Path("/team/stack")
    assert env.compose.env == {"HARNESS_SECRET_K": "v"}
    plain = EnvironmentSpec(name="p", file=tmp_path / "p.yaml", description="", template="", parameters={},
                            services=(), compose_file=tmp_path / "team" / "docker-compose.yml")
    assert Environment(plain, {}, Settings(root=tmp_path), run_id="r1").compose.project_directory == tmp_path / "team"

"""harness.engine.api: the engine reads without the docker SDK, against a fake engine on a unix socket and
against the real engine (the same answers as the SDK's low-level client)."""

from __future__ import annotations

import json
import socketserver
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from harness.engine.api import EngineAPI, encode_filters, reads_for
from harness.engine.endpoint import Engine
from harness.errors import DockerError, DockerUnavailable


class _Engine(BaseHTTPRequestHandler):
    """Answers like the Engine API: records each path asked, 404 with a JSON message for unknown ids."""

    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the handler's API
        body: Any
        self.asked.append(self.path)
        url = urlsplit(self.path)
        if url.path == "/containers/json":
            body, status = [{"Id": "abc", "Labels": {"q": parse_qs(url.query).get("filters", [""])[0]}}], 200
        elif url.path == "/containers/abc/json":
            body, status = {"Id": "abc", "State": {"Status": "running"}}, 200
        else:
            body, status = {"message": f"No such container: {url.path.split('/')[2]}"}, 404
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> Any:
        request, _ = super().get_request()
        return request, ("local", 0)  # BaseHTTPRequestHandler wants a (host, port) client address


@pytest.fixture
def fake_engine(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "engine.sock")
    _Engine.asked = []
    server = _UnixServer(path, _Engine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"unix://{path}"
    server.shutdown()
    server.server_close()


def test_filters_are_encoded_as_the_sdk_encodes_them() -> None:
    assert json.loads(encode_filters({"label": ["a=1", "b"], "dangling": True, "name": "x"})) == {
        "label": ["a=1", "b"], "dangling": ["true"], "name": ["x"]}
    assert encode_filters(None) == "{}"


def test_container_lists_and_inspects_go_over_the_unix_socket(fake_engine: str) -> None:
    api = EngineAPI(fake_engine)
    found = api.containers(all=True, filters={"label": ["harness.env=tiny", "harness.owner=0"]})
    assert json.loads(found[0]["Labels"]["q"]) == {"label": ["harness.env=tiny", "harness.owner=0"]}
    assert _Engine.asked[0].startswith("/containers/json?all=1&filters=")
    assert api.inspect_container("abc")["State"]["Status"] == "running"


def test_an_engine_error_names_the_request_and_the_engines_message(fake_engine: str) -> None:
    with pytest.raises(DockerError) as err:
        EngineAPI(fake_engine).inspect_container("gone")
    assert "GET /containers/gone/json: 404 No such container: gone" in str(err.value)
    assert not isinstance(err.value, DockerUnavailable)


def test_no_engine_at_the_socket_is_docker_unavailable_naming_the_endpoint(tmp_path: Path) -> None:
    engine = Engine(f"unix://{tmp_path}/none.sock")
    with pytest.raises(DockerUnavailable) as err:
        reads_for(engine).containers()
    assert f"no Docker engine answers at unix://{tmp_path}/none.sock" in str(err.value)
    assert "make setup" in err.value.hint


def test_plain_endpoints_get_the_light_client_and_tls_or_ssh_the_sdk(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    assert Engine("unix:///var/run/docker.sock").speaks_plain_http
    assert Engine("tcp://10.0.0.5:2375", source="DOCKER_HOST").speaks_plain_http
    assert not Engine("ssh://user@host").speaks_plain_http
    (tmp_path / "docker").mkdir()
    assert not Engine("tcp://10.0.0.5:2376", source="context", context="c", tls_dir=str(tmp_path / "docker")
                      ).speaks_plain_http
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    assert not Engine("tcp://10.0.0.5:2376", source="DOCKER_HOST").speaks_plain_http


def test_loading_the_hooks_and_every_generic_step_does_not_load_the_docker_sdk() -> None:
    """A reused run attaches with container lists alone; the SDK (and requests) cost ~85 ms to import."""
    code = ("import sys; import harness.run.behave_hooks; from harness.steplib import use_generic_steps; "
            "use_generic_steps(); print(sorted(m for m in ('docker', 'requests') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.docker
def test_the_light_client_answers_as_the_sdk_does_on_the_real_engine() -> None:
    import docker

    client = docker.from_env()
    labels = {"harness.test.engine-api": uuid.uuid4().hex[:8]}
    network = client.networks.create(f"engine-api-{labels['harness.test.engine-api']}", labels=labels)
    volume = client.volumes.create(labels=labels)
    container = client.containers.create("harness-base:bookworm-1", ["true"], labels=labels)
    try:
        light, sdk = reads_for(Engine("unix:///var/run/docker.sock")), client.api
        filters = {"label": "harness.test.engine-api=" + labels["harness.test.engine-api"]}
        cid = str(container.id)
        assert [c["Id"] for c in light.containers(all=True, filters=filters)] == [cid]
        assert light.containers(all=True, filters=filters) == sdk.containers(all=True, filters=filters)
        assert light.containers(filters=filters) == []  # created, not running
        assert light.inspect_container(cid)["Id"] == sdk.inspect_container(cid)["Id"]
        assert [n["Id"] for n in light.networks(filters=filters)] == [network.id]
        assert [v["Name"] for v in light.volumes(filters=filters)["Volumes"]] == [volume.name]
    finally:
        container.remove(force=True)
        network.remove()
        volume.remove(force=True)

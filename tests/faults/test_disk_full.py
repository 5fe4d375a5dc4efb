"""Disk full on a sized named volume (a tmpfs-backed compose volume), the way a team sizes its database's disk."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from docker.models.containers import Container
from edgekit import docker_or_fail

from harness.env.images import base_image_from_env
from harness.errors import FaultError
from harness.faults import DiskFull, FaultStack

pytestmark = pytest.mark.docker
MiB = 2**20


@pytest.fixture
def db() -> Iterator[Container]:
    """A container whose /var/lib/db is a named volume with `driver_opts: {type: tmpfs, o: size=16m}`."""
    client = docker_or_fail()
    tag = uuid.uuid4().hex[:10]
    labels = {"harness.test": tag}
    volume = client.volumes.create(f"harness-diskfull-{tag}", driver="local", labels=labels,
                                   driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=16m"})
    container = client.containers.run(base_image_from_env(), ["sleep", "infinity"], detach=True, init=True,
                                      name=f"harness-diskfull-{tag}", labels=labels,
                                      volumes={volume.name: {"bind": "/var/lib/db", "mode": "rw"}})
    try:
        yield container
    finally:
        container.remove(force=True)
        volume.remove(force=True)


def _write(container: Container, path: str, size: int) -> tuple[int, bytes]:
    result = container.exec_run(["python3", "-c", f"open({path!r}, 'wb').write(b'x' * {size})"])
    return int(result.exit_code or 0), result.output


def test_a_tmpfs_named_volume_fills_up_and_the_undo_frees_it(db: Container) -> None:
    fault = DiskFull(db, "/var/lib/db")
    before = fault.free_bytes()
    assert 15 * MiB <= before <= 16 * MiB
    with FaultStack() as stack:
        stack.inject(fault)
        assert fault.free_bytes() == 0
        code, output = _write(db, "/var/lib/db/row", 8192)
        assert code != 0 and b"No space left" in output
    assert fault.free_bytes() == before
    assert _write(db, "/var/lib/db/row", 8192)[0] == 0


def test_leaving_2_mb_leaves_about_2_mb(db: Container) -> None:
    fault = DiskFull(db, "/var/lib/db", leave_bytes=2 * MiB)
    with FaultStack() as stack:
        stack.inject(fault)
        assert 2 * MiB - 64 * 1024 <= fault.free_bytes() <= 2 * MiB + 64 * 1024
    assert fault.free_bytes() > 15 * MiB


def test_a_path_on_the_hosts_disk_is_refused_with_a_hint_naming_the_tmpfs_volume(db: Container) -> None:
    with pytest.raises(FaultError) as caught:
        DiskFull(db, "/tmp").inject()
    text = str(caught.value)
    assert "not a tmpfs" in text and "driver_opts: {type: tmpfs" in text and "size=64m" in text

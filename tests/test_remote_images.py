"""harness.env.remote_images: what a remote engine lacks is copied from the local one. Fake clients, no Docker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker.errors
import pytest

from harness.engine.endpoint import Engine
from harness.env.remote_images import ensure_images
from harness.errors import ImageMissing

REMOTE = Engine("tcp://10.0.0.9:2375", source="DOCKER_HOST")


class FakeApi:
    """The image calls of the low-level API over a set of image names."""

    def __init__(self, images: set[str], load_error: str = "") -> None:
        self.images = set(images)
        self.loaded: list[bytes] = []
        self.load_error = load_error

    def inspect_image(self, image: str) -> dict[str, Any]:
        if image not in self.images:
            raise docker.errors.ImageNotFound(f"No such image: {image}")
        return {"Id": "sha256:" + image}

    def get_image(self, image: str) -> Iterator[bytes]:
        yield from (f"tar of {image}:".encode(), b"chunk")

    def load_image(self, data: Iterator[bytes]) -> Iterator[dict[str, str]]:
        body = b"".join(data)
        if self.load_error:
            yield {"error": self.load_error}
            return
        self.loaded.append(body)
        self.images.add(body.decode().removeprefix("tar of ").removesuffix(":chunk"))
        yield {"stream": "Loaded image"}


class FakeClient:
    def __init__(self, images: set[str], load_error: str = "") -> None:
        self.api = FakeApi(images, load_error)


def test_images_the_remote_engine_lacks_are_streamed_from_the_local_one() -> None:
    local, remote = FakeClient({"stack:1", "base:1"}), FakeClient({"base:1"})
    lines: list[str] = []
    copied = ensure_images(["stack:1", "base:1", "stack:1"], REMOTE, remote, source=lambda: local, report=lines.append)
    assert copied == ["stack:1"]
    assert remote.api.loaded == [b"tar of stack:1:chunk"] and "stack:1" in remote.api.images
    assert lines == ["copying image stack:1 to the engine at tcp://10.0.0.9:2375"]
    assert ensure_images(["stack:1"], REMOTE, remote, source=lambda: local) == [], "there now: not copied again"


def test_nothing_is_copied_to_a_local_engine_and_the_local_one_is_not_asked() -> None:
    def no_source() -> Any:
        raise AssertionError("a local engine needs no copy")
    assert ensure_images(["stack:1"], Engine("unix:///var/run/docker.sock"), FakeClient(set()), source=no_source) == []


def test_the_local_engine_is_only_contacted_when_something_is_missing() -> None:
    def no_source() -> Any:
        raise AssertionError("everything is there")
    assert ensure_images(["a:1"], REMOTE, FakeClient({"a:1"}), source=no_source) == []


def test_an_image_on_neither_engine_is_named_in_the_error_with_a_hint() -> None:
    with pytest.raises(ImageMissing) as err:
        ensure_images(["ghost:7"], REMOTE, FakeClient(set()), source=lambda: FakeClient(set()))
    exc = err.value
    assert (exc.image, exc.engine) == ("ghost:7", "tcp://10.0.0.9:2375")
    assert "neither the remote engine nor the local one" in str(exc) and "Hint:" in str(exc)
    assert "docker -H tcp://10.0.0.9:2375 load" in exc.hint


def test_a_load_the_remote_engine_refuses_is_an_error() -> None:
    with pytest.raises(ImageMissing) as err:
        ensure_images(["a:1"], REMOTE, FakeClient(set(), load_error="no space left on device"),
                      source=lambda: FakeClient({"a:1"}))
    assert "no space left on device" in str(err.value)


def test_a_build_base_the_local_engine_lacks_is_left_to_the_remote_engine() -> None:
    local, remote = FakeClient({"base:1"}), FakeClient(set())
    assert ensure_images(["base:1", "python:3.11"], REMOTE, remote, source=lambda: local, required=False) == ["base:1"]
    assert "python:3.11" not in remote.api.images

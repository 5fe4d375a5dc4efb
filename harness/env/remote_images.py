"""Images on a remote engine: copied from the local engine when the remote one lacks them.

A remote engine starts without the harness's images, and no registry answers on our machines.
So before an environment comes up on a remote engine (and before a netns helper or the fault
proxy runs there), every image it needs that the remote engine lacks is streamed from the local
engine (`docker save` on the local engine -> `docker load` on the remote one, through the API,
no temporary file). An image neither engine has is an ``ImageMissing`` error naming it. On a
local engine nothing is copied: a missing image is compose's error, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from harness.engine.endpoint import DEFAULT_ENDPOINT, Engine
from harness.errors import DockerError, ImageMissing

logger = logging.getLogger(__name__)

__all__ = ["copy_image", "ensure_images", "local_client"]

_lock = threading.Lock()  # two environments starting at once must not stream the same image twice


def local_client() -> Any:
    """An SDK client for this machine's own engine (the default socket), whatever DOCKER_HOST says."""
    return Engine(DEFAULT_ENDPOINT).client()


def ensure_images(images: Iterable[str], engine: Engine, target: Any, *,
                  source: Callable[[], Any] = local_client,
                  report: Callable[[str], None] | None = None, required: bool = True) -> list[str]:
    """Copy each of ``images`` the remote ``engine`` (client ``target``) lacks from the local engine.

    Returns the images copied. Does nothing on a local engine. With ``required=False`` an image the
    local engine lacks too is skipped (a build's FROM image the remote engine may still pull).
    """
    if engine.local:
        return []
    copied: list[str] = []
    local: Any = None
    with _lock:
        for image in sorted(set(images)):
            if _has_image(target, image, engine):  # asked every time: one cheap call, never stale
                continue
            local = local if local is not None else source()
            if not required and not _has_image(local, image, engine, where="the local engine"):
                continue
            copy_image(image, local, target, engine, report)
            copied.append(image)
    return copied


def copy_image(image: str, local: Any, target: Any, engine: Engine,
               report: Callable[[str], None] | None = None) -> None:
    """Stream ``image`` from the ``local`` engine into ``target`` (the remote engine)."""
    # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
    import docker.errors

    if not _has_image(local, image, engine, where="the local engine"):
        raise ImageMissing("it is on neither the remote engine nor the local one", image=image,
                           engine=engine.endpoint,
                           hint=f"build it locally (`make setup` builds the harness's images) or load it "
                                f"into the remote engine yourself (`docker -H {engine.endpoint} load`)")
    started = time.monotonic()
    if report is not None:
        report(f"copying image {image} to the engine at {engine.endpoint}")
    try:
        for status in target.api.load_image(local.api.get_image(image)):
            if isinstance(status, dict) and status.get("error"):
                raise ImageMissing(f"the remote engine refused it: {status['error']}", image=image,
                                   engine=engine.endpoint, hint="`docker -H ENGINE info` shows the engine's "
                                                                "storage; is its disk full?")
    except docker.errors.DockerException as exc:
        raise ImageMissing(f"copying it failed: {exc}", image=image, engine=engine.endpoint,
                           hint=f"copy it by hand: `docker save {image} | docker -H {engine.endpoint} load`") from exc
    logger.info("copied image %s to %s in %.1f s", image, engine.endpoint, time.monotonic() - started)


def _has_image(client: Any, image: str, engine: Engine, where: str = "") -> bool:
    # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
    import docker.errors

    try:
        client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.DockerException as exc:
        raise DockerError(f"could not look up image {image} on {where or engine.describe()}: {exc}",
                          hint="is the engine up? `docker info` shows it") from exc
    return True

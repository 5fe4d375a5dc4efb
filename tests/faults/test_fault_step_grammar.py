"""The link and disk-full step grammar: "B", "B:N" and "B on port N"; "leaving N MB" (no Docker, no behave run)."""

from __future__ import annotations

import parse
import pytest

from harness.clients.http import STEP_TYPES
from harness.stepdefs import fault_steps

TYPES = {**STEP_TYPES, "Services": fault_steps._services, "Path": fault_steps._path, "Peer": fault_steps._peer,
         "Megabytes": fault_steps._megabytes}
LATENCY = "{ms:Number} ms of latency is added between {a:Services} and {b:Peer}"
BLACKHOLE = "the link between {a:Services} and {b:Peer} holds all data"


@pytest.mark.parametrize(("text", "b"), [
    ("300 ms of latency is added between nginx and api", ("api", None)),
    ("300 ms of latency is added between nginx and api:8000", ("api", 8000)),
    ("300 ms of latency is added between nginx and api on port 8000", ("api", 8000)),
    ("300 ms of latency is added between queen and hive-*", ("hive-*", None)),
])
def test_the_far_side_of_an_edge_may_name_its_port(text: str, b: tuple[str, int | None]) -> None:
    found = parse.parse(LATENCY, text, extra_types=TYPES)
    assert found is not None and found["b"] == b and found["ms"] == 300


def test_a_blackhole_step_with_a_port() -> None:
    found = parse.parse(BLACKHOLE, "the link between web and db on port 5432 holds all data", extra_types=TYPES)
    assert found is not None and (found["a"], found["b"]) == ("web", ("db", 5432))


def test_disk_full_leaving_some_megabytes() -> None:
    pattern = 'the disk at "{path:Path}" in {target:Services} is full, leaving {size:Megabytes}'
    found = parse.parse(pattern, 'the disk at "/var/lib/postgresql/data" in db is full, leaving 2 MB',
                        extra_types=TYPES)
    assert found is not None and found["size"] == 2 * 2**20 and found["path"] == "/var/lib/postgresql/data"

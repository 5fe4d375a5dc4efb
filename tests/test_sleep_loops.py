"""No hand-written sleep loop in harness/: waiting goes through harness.waiting.Wait (tenacity underneath).

A loop (``for``, ``while``, ``async for``) that calls ``sleep`` (``time.sleep``, ``asyncio.sleep``, an injected
``sleep``) is allowed only with a ``# wait: <why>`` comment on the line above it or on its own line: pacing
(a load schedule, a fault proxy's toxic) and the few waits Wait cannot express say so there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPS = (ast.For, ast.AsyncFor, ast.While)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _inside(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` that runs as part of it (not in a function or class defined there)."""
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, SCOPES):
            yield child
            yield from _inside(child)


def _is_sleep(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr == "sleep") or (isinstance(func, ast.Name)
                                                                          and func.id == "sleep")


def sleep_loops(source: str) -> list[int]:
    """Line numbers of the loops that sleep themselves (a sleep in a nested loop counts for that loop only)."""
    found = []
    for loop in ast.walk(ast.parse(source)):
        if not isinstance(loop, LOOPS):
            continue
        nested = {id(n) for inner in _inside(loop) if isinstance(inner, LOOPS) for n in _inside(inner)}
        if any(_is_sleep(n) and id(n) not in nested for n in _inside(loop)):
            found.append(loop.lineno)
    return sorted(found)


def unexplained(source: str) -> list[int]:
    """The sleep loops without a ``# wait:`` reason on their line or the line above."""
    lines = source.splitlines()
    return [n for n in sleep_loops(source) if not any("# wait:" in lines[i - 1] for i in (n - 1, n) if i >= 1)]


def test_every_sleep_loop_in_harness_says_why_it_is_not_a_wait() -> None:
    bad = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "harness").rglob("*.py"))
           for line in unexplained(path.read_text())]
    assert bad == [], ("hand-written sleep loops; wait through harness.waiting.Wait (.until/.poll), or say why not "
                       "with a `# wait: ...` comment above the loop: " + ", ".join(bad))


def test_the_scan_finds_the_loops_it_must() -> None:
    planted = '''
import asyncio, time

def poll(path):
    while not path.exists():
        time.sleep(0.05)

async def retry(fn, sleep):
    for attempt in range(3):
        try:
            return await fn()
        except OSError:
            await sleep(attempt)

def not_a_loop():
    time.sleep(1)

def nested():
    for x in range(3):
        while True:
            asyncio.sleep(1)

def callback_in_loop():
    for x in range(3):
        def later():
            time.sleep(1)

def explained():
    # wait: pacing, not a poll
    while True:
        time.sleep(1)
'''
    assert sleep_loops(planted) == [5, 9, 20, 30]
    assert unexplained(planted) == [5, 9, 20]

"""Every subcommand's --help: exit 0, every option explained, nothing created; README shows `harness run --help`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli import COMMANDS, main
from harness.commands import run_help

REPO = Path(__file__).resolve().parent.parent
_ENTRY = re.compile(r"^  (\S.*?)(?:\s{2,}(\S.*))?$")


def _help(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = main([name, "--help"])
    except SystemExit as exc:  # argparse's --help
        code = int(exc.code or 0)
    assert code == 0, name
    return capsys.readouterr().out


def unexplained(text: str) -> list[str]:
    """The option (or argument) entries of an argparse help with no words after them."""
    lines = text.splitlines()
    bare, section = [], False
    for i, line in enumerate(lines):
        if line.endswith(":") and not line.startswith(" "):
            section = line in ("options:", "positional arguments:")
            continue
        found = _ENTRY.match(line) if section else None
        if found is None:
            continue
        follows = lines[i + 1] if i + 1 < len(lines) else ""
        if not found.group(2) and not follows.startswith(" " * 6):
            bare.append(found.group(1))
    return bare


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommands_help_explains_every_option_and_creates_nothing(
        name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = _help(name, capsys)
    assert "options:" in text, name
    assert unexplained(text) == [], f"harness {name} --help lists options without a word on them"
    assert list(tmp_path.iterdir()) == [], f"harness {name} --help created files"


def test_unexplained_finds_a_bare_option() -> None:
    text = "options:\n  -h, --help  show help\n  --tail TAIL\n  --run RUN   the run\n  --x X\n        wrapped help\n"
    assert unexplained(text) == ["--tail TAIL"]


def test_run_help_lists_the_harness_options_first_then_behaves(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("run", capsys)
    ours = ["--workers", "--shard", "--retries", "--reuse", "--durations", "--rerun"]
    behave = text.index("behave's options")
    for option in ours:
        assert -1 < text.find(f"  {option} ") < behave, option
    assert text.find("--tags", behave) > behave and text.find("--define", behave) > behave


def test_readme_shows_the_real_harness_run_help() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- harness run --help -->\n```text\n(.*?)```\n", readme, re.S)
    assert block is not None, "README has no `harness run --help` block"
    assert block.group(1) == run_help(), "README's copy of `harness run --help` is stale: paste the output again"

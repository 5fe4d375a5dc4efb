"""`harness run`'s own options: what it keeps, what goes on to behave, what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.commands import _reuse_args, run_parser
from harness.env.config import Settings
from harness.errors import ConfigError
from harness.parallel.split import behave_paths
from tests.conftest import FIXTURES


def test_harness_options_are_taken_and_everything_else_goes_to_behave() -> None:
    options, rest = run_parser().parse_known_args(
        ["--workers", "3", "--tags", "@integration", "--retries", "1", "--wip", "features/x.feature"])
    assert (options.workers, options.retries, options.shard, options.reuse) == (3, 1, "", "")
    assert rest == ["--tags", "@integration", "--wip", "features/x.feature"]


def test_reuse_names_an_environment_or_else_gives_the_word_back_to_behave() -> None:
    settings = Settings(root=FIXTURES / "parallel")
    named, _ = run_parser().parse_known_args(["--reuse", "tiny", "envfeatures/web_a.feature"])
    assert _reuse_args(named, ["envfeatures/web_a.feature"], settings) == [
        "-D", "reuse=tiny", "envfeatures/web_a.feature"]
    path, rest = run_parser().parse_known_args(["--reuse", "envfeatures/web_a.feature"])
    assert _reuse_args(path, rest, settings) == ["-D", "reuse=1", "envfeatures/web_a.feature"]
    bare, rest = run_parser().parse_known_args(["--reuse"])
    assert _reuse_args(bare, rest, settings) == ["-D", "reuse=1"]


def test_reuse_with_several_workers_is_refused() -> None:
    options, rest = run_parser().parse_known_args(["--reuse", "tiny", "--workers", "2"])
    with pytest.raises(ConfigError, match="--reuse"):
        _reuse_args(options, rest, Settings(root=FIXTURES / "parallel"))


def test_behave_decides_which_arguments_are_paths(tmp_path: Path) -> None:
    root = FIXTURES / "parallel"
    assert behave_paths(["--tags", "@x", "features/alpha.feature"], root) == (
        ["features/alpha.feature"], ["--tags", "@x"])
    assert behave_paths(["-D", "reuse=1"], root) == (["features"], ["-D", "reuse=1"])

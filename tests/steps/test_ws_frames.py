"""Frame matching without a server: kinds, selections, order, sequences, non-JSON frames."""

from __future__ import annotations

import pytest

from harness.clients import frames
from harness.clients.frames import Frame, Selection
from harness.errors import VerificationFailed


def frame(raw: str, index: int = 1, event: str | None = None) -> Frame:
    return Frame(raw, frames.decode(raw), 0.0, index, event=event)


def test_kind_comes_from_the_sse_event_or_the_json_path() -> None:
    assert frame('{"type": "token"}').kind("type") == "token"
    assert frame('{"meta": {"kind": "x"}}').kind("meta.kind") == "x"
    assert frame('{"type": "token"}', event="job_started").kind("type") == "job_started"
    assert frame("not json").kind("type") == "" and not frame("not json").is_json
    assert frame('{"other": 1}').kind("type") == ""


def test_selection_picks_frames_whose_path_equals_the_literal() -> None:
    got = [frame('{"job_id": "a", "n": 1}', 1), frame('{"job_id": "b"}', 2), frame("raw", 3),
           frame('{"job_id": "a", "n": 2}', 4)]
    assert [f.index for f in Selection("s", "job_id", "a").pick(got)] == [1, 4]
    assert [f.index for f in Selection("s", "n", 2).pick(got)] == [4]
    assert len(Selection("s").pick(got)) == 4
    assert Selection("s", "job_id", "a").label == '"s" where "job_id" is "a"'


def test_order_difference_collapses_repeats_and_names_the_first_misfit() -> None:
    got = [frame(f'{{"type": "{k}"}}', i) for i, k in enumerate(["a", "t", "t", "z"], 1)]
    assert frames.order_difference(got, "type", ["a", "t", "z"]) == ""
    assert "expected b at step 2 of the order, got event #2: t" in frames.order_difference(got, "type", ["a", "b"])
    assert frames.summary(got, "type") == "a, t x2, z"


@pytest.mark.parametrize(("values", "problem"), [
    ([1, 2, 3], ""),
    ([5, 6, 6, 7], "duplicated: [6]"),
    ([1, 2, 4], "missing: [3] (1 in all)"),
    ([2, 1], "out of order at [(2, 1)]"),
    ([1, "2"], "not integers: ['2']"),
    ([], "no values"),
])
def test_sequence_problems_name_duplicates_gaps_and_disorder(values: list[object], problem: str) -> None:
    assert frames.sequence_problems(values) == problem


def test_a_path_on_a_frame_that_is_not_json_is_a_clear_failure() -> None:
    with pytest.raises(VerificationFailed, match=r"frame #7 'hello' is not JSON, so it has no value at 'seq'"):
        frames.value_at(frame("hello", 7), "seq", 'on "x"')
    assert frames.value_at(frame('{"seq": 3}'), "seq", "x") == 3

"""`harness sweep --merge`: shards' sweep.json files, written here, merge into one sweep (no Docker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.faults.kinds import FaultSpec
from harness.runfolder import RunFolder
from harness.runfolder import sweep as sweep_file
from harness.sweep import merge, outcome, report
from harness.sweep.driver import SweepResult
from harness.sweep.merge import cell_from_dict, read_part
from harness.sweep.outcome import (
    DETECTED,
    FAULT_FAILED,
    NO_RECOVERY,
    NOT_EXERCISED,
    NOT_RUN,
    TOLERATED,
    CellResult,
    ScenarioResult,
)

SCENARIOS = ["f.feature:3", "f.feature:9"]


def _cell(label: str, result: str) -> CellResult:
    """A cell of the given outcome, as the driver makes it."""
    kind, _, target = label.partition(" ")
    a, _, b = target.partition("->")
    fault = FaultSpec(kind, a, b, {"ms": 500.0} if kind == "latency" else {})
    if result == NOT_RUN:
        return CellResult(fault, ran=False)
    if result == NOT_EXERCISED:
        return CellResult(fault)
    bad = result in (DETECTED, NO_RECOVERY)
    scenarios = (ScenarioResult("f.feature:3", "first", "passed"),
                 ScenarioResult("f.feature:9", "second", "failed" if bad else "passed", "Then x", "boom"))
    timeline = ({"action": "inject-failed"},) if result == FAULT_FAILED else ({"action": "inject"},)
    return CellResult(fault, scenarios, result != NO_RECOVERY, None if result == NO_RECOVERY else 2.5, 30.0,
                      True, timeline, f"cells/001-{kind}")


def _sweep(folder: Path, cells: list[CellResult], shard: Any = None, *, wall: float = 100.0,
           reduction: dict[str, int] | None = None, stopped: str = "", env: str = "shop",
           block: dict[str, Any] | None = None) -> Path:
    """A sweep's run folder with its sweep.json, written as the driver's report writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    result = SweepResult(env, folder.name, list(SCENARIOS), [], cells, None, SCENARIOS[0], wall_s=wall,
                         baseline_s=10.0, stopped=stopped)
    data = report.to_json(result, [], {})
    data["reduction"] = reduction or {"runs": 10, "unreduced_runs": 24, "saved": 14}
    if shard is not None:
        data["shard"] = shard
    if block is not None:
        data["sweep"] = block
    report.write(RunFolder(folder), data)
    return folder


def _shards(tmp_path: Path) -> list[Path]:
    return [_sweep(tmp_path / "s1", [_cell("kill db", DETECTED), _cell("pause db", NOT_RUN),
                                     _cell("kill web", NOT_EXERCISED)], {"index": 1, "total": 2}, wall=120.0),
            _sweep(tmp_path / "s2", [_cell("pause db", TOLERATED), _cell("kill db", NOT_RUN),
                                     _cell("latency web->db", NO_RECOVERY), _cell("kill web", NOT_EXERCISED)],
                   "2/2", wall=90.0)]


def test_shards_merge_into_one_sweep_scored_and_written_like_a_single_one(tmp_path: Path) -> None:
    data = merge.merge(_shards(tmp_path), {"db": {"kill": TOLERATED}}, "merged-1")
    outcomes = {c["label"]: c["outcome"] for c in data["cells"]}
    assert outcomes == {"kill db": DETECTED, "pause db": TOLERATED, "kill web": NOT_EXERCISED,
                        "latency web->db": NO_RECOVERY}
    assert data["score"]["overall"] == [1, 3] and data["score"]["db"] == [1, 3]
    assert [f["cell"] for f in data["findings"]] == ["kill db"]  # expected tolerated, detected
    assert data["wall_s"] == 120.0 and data["machine_s"] == 210.0  # shards run side by side
    assert data["reduction"] == {"runs": 20, "unreduced_runs": 48, "saved": 28}  # each shard reduced its own cells
    assert [m["shard"] for m in data["merged_from"]] == ["1/2", "2/2"]
    latency = next(c for c in data["cells"] if c["label"] == "latency web->db")
    assert latency["parameters"] == {"ms": 500.0} and latency["folder"].endswith("s2/cells/001-latency")
    files = report.write(RunFolder.new(tmp_path, "out"), data)
    assert "1/3 (33%)" in files[1].read_text() and "merged from 2 sweeps" in files[1].read_text()
    assert files[2].read_text().count('class="cell') == 4
    summary = sweep_file.read_sweep(tmp_path / "out")
    assert summary is not None and [c.label for c in summary.no_recovery] == ["latency web->db"]


def test_a_missing_shard_is_named(tmp_path: Path) -> None:
    one = _sweep(tmp_path / "a", [_cell("kill db", DETECTED)], "1/3")
    three = _sweep(tmp_path / "c", [_cell("kill web", TOLERATED)], "3/3")
    with pytest.raises(ConfigError, match=r"shard 2/3 missing \(given: .*a/sweep.json \(shard 1/3\), "
                                          r".*c/sweep.json \(shard 3/3\)\)"):
        merge.merge([one, three], {}, "m")


def test_a_cell_that_ran_in_two_files_is_an_error_naming_both(tmp_path: Path) -> None:
    one = _sweep(tmp_path / "a", [_cell("kill db", DETECTED)], "1/2")
    two = _sweep(tmp_path / "b", [_cell("kill db", TOLERATED)], "2/2")
    with pytest.raises(ConfigError) as caught:
        merge.merge([one, two], {}, "m")
    message = str(caught.value)
    assert "cell 'kill db' ran in both" in message and "a/sweep.json" in message and "b/sweep.json" in message


def test_one_shard_given_twice_mixed_or_different_splits_are_errors(tmp_path: Path) -> None:
    one = _sweep(tmp_path / "a", [_cell("kill db", DETECTED)], "1/2")
    again = _sweep(tmp_path / "a2", [_cell("kill web", DETECTED)], [1, 2])
    plain = _sweep(tmp_path / "p", [_cell("pause web", DETECTED)])
    other = _sweep(tmp_path / "o", [_cell("stop web", DETECTED)], "2/3")
    elsewhere = _sweep(tmp_path / "e", [_cell("stop db", DETECTED)], env="other")
    with pytest.raises(ConfigError, match="shard 1/2 is given twice: .*a/sweep.json and .*a2/sweep.json"):
        merge.merge([one, again], {}, "m")
    with pytest.raises(ConfigError, match="is not a shard"):
        merge.merge([one, plain], {}, "m")
    with pytest.raises(ConfigError, match="different numbers of shards"):
        merge.merge([one, other], {}, "m")
    with pytest.raises(ConfigError, match="only sweeps of one environment merge"):
        merge.merge([plain, elsewhere], {}, "m")
    with pytest.raises(ConfigError, match="not a sweep's results") as caught:
        merge.merge([tmp_path / "nothing"], {}, "m")
    assert caught.value.key == "--merge"


def _space(shard: list[int], space_id: str = "q1", cells: int = 3, flaky: str = "") -> dict[str, Any]:
    """The ``sweep`` block `harness sweep --shard` writes."""
    return {"space_id": space_id, "space_cells": cells, "shard": shard, "workers": 1,
            "flaky": [{"location": flaky, "name": "f", "status": "failed", "step": "", "error": ""}] if flaky else [],
            "keys": []}


def test_the_sweep_block_of_harness_sweep_shard_names_shards_and_their_space(tmp_path: Path) -> None:
    one = _sweep(tmp_path / "a", [_cell("kill db", DETECTED)], block=_space([1, 2], flaky="f.feature:20"))
    two = _sweep(tmp_path / "b", [_cell("kill web", TOLERATED), _cell("pause web", NOT_EXERCISED)],
                 block=_space([2, 2], flaky="f.feature:20"))
    data = merge.merge([two, one], {}, "m")
    assert [c["label"] for c in data["cells"]] == ["kill db", "kill web", "pause web"]  # in shard order
    assert data["sweep"]["space_id"] == "q1" and data["sweep"]["shards"] == 2 and data["sweep"]["shard"] is None
    assert [s["location"] for s in data["sweep"]["flaky"]] == ["f.feature:20"]
    other = _sweep(tmp_path / "c", [_cell("kill web", TOLERATED)], block=_space([2, 2], space_id="q2"))
    with pytest.raises(ConfigError, match="are shards of different sweeps"):
        merge.merge([one, other], {}, "m")
    short = _sweep(tmp_path / "d", [_cell("kill web", TOLERATED)], block=_space([2, 2]))
    with pytest.raises(ConfigError, match="the shards hold 2 cells of the 3 of their fault space"):
        merge.merge([one, short], {}, "m")
    with pytest.raises(ConfigError, match=r"shard 2/2 missing"):
        merge.merge([one], {}, "m")


def test_sweeps_divided_by_hand_merge_and_their_reductions_add_up(tmp_path: Path) -> None:
    db = _sweep(tmp_path / "db", [_cell("kill db", DETECTED)], reduction={"runs": 2, "unreduced_runs": 4, "saved": 2},
                stopped="budget")
    web = _sweep(tmp_path / "web", [_cell("kill web", TOLERATED)], reduction={"runs": 1, "unreduced_runs": 4,
                                                                            "saved": 3})
    data = merge.merge([db, web], {}, "m", before={"kill db": TOLERATED, "kill web": TOLERATED})
    assert data["reduction"] == {"runs": 3, "unreduced_runs": 8, "saved": 5}
    assert data["changes"] == ["kill db: tolerated → detected"]
    assert data["stopped"].startswith("budget in ") and data["merged_from"][0]["shard"] == ""


@pytest.mark.parametrize("result", [TOLERATED, DETECTED, NO_RECOVERY, NOT_EXERCISED, FAULT_FAILED, NOT_RUN])
def test_a_cell_round_trips_through_sweep_json(tmp_path: Path, result: str) -> None:
    folder = _sweep(tmp_path / "s", [_cell("latency web->db", result)])
    part = read_part(folder)
    cell = cell_from_dict(part.data["cells"][0], part)
    assert cell.outcome == result and cell.fault == _cell("latency web->db", result).fault


def test_a_cell_whose_outcome_does_not_follow_from_it_is_refused(tmp_path: Path) -> None:
    folder = _sweep(tmp_path / "s", [_cell("kill db", DETECTED)])
    data = json.loads((folder / "sweep.json").read_text())
    data["cells"][0]["outcome"] = TOLERATED
    (folder / "sweep.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="says 'tolerated' but holds a 'detected' cell"):
        merge.merge([folder], {}, "m")


def test_the_reader_shares_the_outcome_words_and_reads_shard_forms() -> None:
    assert (sweep_file.TOLERATED, sweep_file.DETECTED, sweep_file.INTERMITTENT, sweep_file.NO_RECOVERY,
            sweep_file.NOT_EXERCISED, sweep_file.FAULT_FAILED, sweep_file.NOT_RUN) == outcome.OUTCOMES
    assert sweep_file.EXERCISED == outcome.EXERCISED
    assert sweep_file.parse_shard({"index": 2, "total": 4}) == sweep_file.parse_shard("2/4") == (2, 4)
    assert sweep_file.parse_shard([2, 4]) == (2, 4)
    assert sweep_file.parse_shard("5/4") is None and sweep_file.parse_shard(None) is None


def test_the_cli_merges_into_a_new_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from harness.sweep import cli

    shards = _shards(tmp_path)
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(tmp_path)
    code = cli.main(["--merge", *map(str, shards)])
    out = capsys.readouterr().out
    assert code == 1  # a cell without recovery
    assert "merged 2 sweep(s) of shop: 4 cells; resilience score 1/3" in out
    [made] = list((tmp_path / "runs").iterdir())
    assert (made / "sweep.html").is_file() and json.loads((made / "sweep.json").read_text())["run_id"] == made.name

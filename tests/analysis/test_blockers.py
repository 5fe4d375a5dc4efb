"""Blockers: ordered rules, masking by hook errors, impact and projections."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.analyze import analyze
from harness.analysis.blockers import classify
from harness.analysis.inputs import load
from harness.analysis.model import ErrorInfo, Feature, Run, Scenario, Step
from harness.analysis.rules import Failure, load_rules
from harness.errors import ConfigError
from tests.analysis.suites import MIXED, BehaveRun, run_behave, write_suite


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> BehaveRun:
    root = tmp_path_factory.mktemp("blockers")
    write_suite(root, MIXED)
    return run_behave(root)


def _blockers(run: BehaveRun) -> dict[str, str]:
    verdicts = classify(load([str(run.run_dir / "record.ndjson")]), load_rules())
    return {v.scenario.name: v.rule.id if v.rule else "" for v in verdicts}


def test_every_default_blocker_is_recognised_in_a_real_run(mixed: BehaveRun) -> None:
    found = _blockers(mixed)
    assert found["fails"] == "product-defect"
    assert found["outline 2 -- @1.2 nums"] == "product-defect"
    assert found["in rule errors"] == "environment"
    assert found["undefined"] == "missing-step"
    assert found["pending"] == "not-implemented"
    assert found["g2"] == "not-implemented"  # HTTP 501 in the message
    assert found["hollow pass"] == "hollow"
    assert "passes" not in found and "skipped one" not in found


def test_scenarios_behind_a_feature_hook_error_are_blocked_not_skipped(mixed: BehaveRun) -> None:
    found = _blockers(mixed)
    assert found["b1"] == found["b2"] == "environment"
    result = analyze(load([str(mixed.run_dir / "record.ndjson")]))
    env = next(i for i in result.impacts if i.rule.id == "environment")
    assert env.scenarios == 3
    assert any("compose up failed" in e.message for e in env.examples)


def test_masking_is_recovered_from_junit_where_behave_says_skipped(mixed: BehaveRun) -> None:
    files = [str(p) for p in (mixed.run_dir / "junit").glob("*.xml")]
    verdicts = classify(load(files), load_rules())
    assert {v.scenario.name for v in verdicts if v.rule and v.rule.id == "environment"} >= {"b1", "b2"}


def test_projection_and_gap(mixed: BehaveRun) -> None:
    result = analyze(load([str(mixed.run_dir / "record.ndjson")]))
    o = result.metrics.overall
    considered = o.scenarios.total - o.scenarios.get("skipped")
    for impact in result.impacts:
        failing = sum(1 for v in result.verdicts if v.rule is impact.rule and v.scenario.status != "passed")
        assert impact.projected_rate == pytest.approx((o.scenarios.get("passed") + failing) / considered)
    product = next(i for i in result.impacts if i.rule.id == "product-defect")
    assert product.passed_steps_inside >= 2 and 0 < product.mean_position <= 1


def _one(message: str, status: str = "failed", kind: str = "AssertionError") -> Run:
    step = Step("When", "x", "f.feature:3", status, error=ErrorInfo(kind, message))
    scenario = Scenario("s", "f.feature:2", status, ("p0",), (step,), feature="f.feature")
    return Run((Feature("F", "f.feature:1", status, (), (scenario,)),))


def test_rules_are_ordered_first_match_wins() -> None:
    rules = load_rules()
    assert [r.id for r in rules.rules][:2] == ["environment", "missing-step"]
    # an assertion about a refused connection is an environment problem, not a product defect
    verdict = classify(_one("GET /health: Connection refused"), rules)[0]
    assert verdict.rule is not None and verdict.rule.id == "environment"
    verdict = classify(_one("expected 200, got 404"), rules)[0]
    assert verdict.rule is not None and verdict.rule.id == "product-defect"
    verdict = classify(_one("boom", "error", "KeyError"), rules)[0]
    assert verdict.rule is not None and verdict.rule.id == "harness-defect"
    verdict = classify(_one("read timed out", "error", "ReadTimeout"), rules)[0]
    assert verdict.rule is not None and verdict.rule.id == "timeout"


def test_project_rules_come_first_and_replace_by_id(tmp_path: Path) -> None:
    project = tmp_path / "blockers.yaml"
    project.write_text(
        "blockers:\n"
        "  - id: narration\n    title: Narration not wired\n    owner: TEAM-104\n    hint: call narrate()\n"
        "    any:\n      - message: 'narrat'\n        tags: [p0]\n"
        "  - id: product-defect\n    title: Product bugs\n    owner: TEAM-103\n    hint: fix\n"
        "    any:\n      - status: [failed]\n")
    rules = load_rules(project)
    ids = [r.id for r in rules.rules]
    assert ids[:2] == ["narration", "product-defect"] and ids.count("product-defect") == 1
    assert "environment" in ids
    verdict = classify(_one("no narration event emitted"), rules)[0]
    assert verdict.rule is not None and verdict.rule.owner == "TEAM-104"


def test_rule_match_keys() -> None:
    rules = load_rules()
    environment = rules.rules[0]
    assert environment.matches(Failure("hook_error"))
    assert environment.matches(Failure("error", "gaierror", "[Errno -2] Name or service not known"))
    assert not environment.matches(Failure("failed", "AssertionError", "expected 1"))


def test_unknown_rule_key_is_a_config_error(tmp_path: Path) -> None:
    project = tmp_path / "blockers.yaml"
    project.write_text("blockers:\n  - id: x\n    any:\n      - mesage: typo\n")
    with pytest.raises(ConfigError, match="mesage"):
        load_rules(project)


def test_unique_errors_group_by_normalised_message() -> None:
    runs = [_one(f"expected 200, got {code} after {ms} ms") for code, ms in ((500, 12), (503, 40))]
    merged = Run(tuple(f for r in runs for f in r.features))
    result = analyze(merged)
    assert result.unique_errors[0].count == 2


RULE_HOOK = {
    "r.feature": '''
        Feature: Rules
          Rule: broken env
            Scenario: r1
              Given a base
          Rule: fine
            Scenario: r2
              Given a base
              Then ok
    ''',
}


def test_a_before_rule_hook_error_masks_the_rules_scenarios(tmp_path: Path) -> None:
    from tests.analysis import suites

    write_suite(tmp_path, RULE_HOOK)
    env = tmp_path / "features" / "environment.py"
    env.write_text(suites.ENVIRONMENT + "\ndef before_rule(context, rule):\n"
                   "    if rule.name == 'broken env':\n        raise ConnectionRefusedError('db down')\n")
    run = run_behave(tmp_path)
    verdicts = classify(load([str(run.run_dir / "record.ndjson")]), load_rules())
    assert [(v.scenario.name, v.rule.id if v.rule else "") for v in verdicts] == [("r1", "environment")]


def test_junit_errors_reach_the_failing_step_so_rules_see_their_type(mixed: BehaveRun) -> None:
    files = [str(p) for p in (mixed.run_dir / "junit").glob("*.xml")]
    verdicts = {v.scenario.name: v.rule.id if v.rule else "" for v in classify(load(files), load_rules())}
    assert verdicts["in rule errors"] == "environment"
    assert verdicts["fails"] == "product-defect"

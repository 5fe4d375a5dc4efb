"""Sort every scenario that did not pass (and hollow passes) into blockers; measure their impact."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from harness.analysis.messages import http_status, normalise
from harness.analysis.model import (
    HOOK_ERROR,
    PASSED,
    PROBLEMS,
    SKIPPED,
    ErrorInfo,
    Run,
    Scenario,
    Step,
)
from harness.analysis.rules import BlockerRule, Failure, RuleSet

EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    """One scenario's blocker and the step (index) that decided it."""

    scenario: Scenario
    rule: BlockerRule | None
    failure: Failure
    step_index: int | None


@dataclass(frozen=True, slots=True)
class Example:
    """A failure to show: where and what."""

    scenario: str
    scenario_location: str
    step: str
    location: str
    error_type: str
    message: str


@dataclass(frozen=True, slots=True)
class Impact:
    """What one blocker costs the suite and what fixing it would give back."""

    rule: BlockerRule
    scenarios: int
    steps: int
    share: float
    projected_rate: float
    passed_steps_inside: int
    mean_position: float
    examples: tuple[Example, ...]


@dataclass(frozen=True, slots=True)
class UniqueError:
    """Failures with the same type and normalised message."""

    error_type: str
    pattern: str
    count: int
    blocker: str
    example: Example


def impact_level(share: float) -> str:
    """HIGH / MEDIUM / LOW by share of the suite (25% and 10% the cut-offs)."""
    return "HIGH" if share >= 0.25 else "MEDIUM" if share >= 0.10 else "LOW"


def hollow_steps(scenario: Scenario) -> Iterator[Step]:
    """Passed steps that verified nothing (needs the run record's counts)."""
    kind = ""
    for step in scenario.steps:
        word = _WORDS.get(step.keyword) or _word(step.keyword)
        kind = kind if word in _CONTINUATIONS else word
        if step.verifications == 0 and step.status == PASSED and (kind == "then" or step.actions == 0):
            yield step


_CONTINUATIONS = frozenset({"and", "but", "*"})
_WORDS: dict[str, str] = {}  # a step keyword as written ("Then ") -> its word ("then"): few distinct ones


def _word(keyword: str) -> str:
    _WORDS[keyword] = word = keyword.strip().lower()
    return word


def is_hollow(scenario: Scenario) -> bool:
    """A passed scenario whose steps verified nothing at all (known only from the record)."""
    counts = [s.verifications for s in scenario.steps]
    return (scenario.status == PASSED and bool(counts) and None not in counts
            and sum(c for c in counts if c is not None) == 0)


@dataclass(frozen=True, slots=True)
class Hollow:
    """One scenario's hollow judgment: its passed steps that verified nothing, and whether it verified nothing."""

    steps: tuple[Step, ...] = ()
    whole: bool = False


NOT_HOLLOW = Hollow()


def hollow_of(scenario: Scenario) -> Hollow:
    """Judge one scenario (``hollow_steps`` and ``is_hollow`` together)."""
    if not scenario.steps:  # JUnit of most tools: nothing to judge (and 100k+ of them)
        return NOT_HOLLOW
    steps = tuple(hollow_steps(scenario))
    whole = is_hollow(scenario)
    return Hollow(steps, whole) if steps or whole else NOT_HOLLOW


class Hollowness:
    """The hollow judgment of every scenario of a run, made once and read by blockers, analyze and go/no-go.

    Keyed by the scenario object itself (identity: a scenario may hold unhashable values); it keeps the
    scenarios it judged, so their identities stay theirs. A scenario it has not seen is judged on the spot
    (one without steps at once: there is nothing to judge).
    """

    __slots__ = ("_judged",)

    def __init__(self, scenarios: Iterable[Scenario] = ()) -> None:
        self._judged: dict[int, tuple[Scenario, Hollow]] = {id(s): (s, hollow_of(s)) for s in scenarios if s.steps}

    def of(self, scenario: Scenario) -> Hollow:
        """The scenario's judgment."""
        if not scenario.steps:
            return NOT_HOLLOW
        found = self._judged.get(id(scenario))
        if found is not None and found[0] is scenario:
            return found[1]
        return hollow_of(scenario)


def judge_hollow(run: Run) -> Hollowness:
    """Every scenario of ``run`` judged once."""
    return Hollowness(run.scenarios())


def failure_of(scenario: Scenario, hollow: Hollow | None = None) -> tuple[Failure | None, int | None]:
    """The deciding step (or hook) of a scenario as a Failure; None when it passed or was skipped.

    ``hollow`` is the scenario's judgment when it was made already (else it is made here when needed).
    """
    if scenario.masked_by is not None:
        return _failure(HOOK_ERROR, scenario.masked_by, "", scenario), None
    for index, step in enumerate(scenario.steps):
        if step.status in PROBLEMS:
            status = HOOK_ERROR if step.error is not None and step.error.hook else step.status
            return _failure(status, step.error, step.text, scenario), index
    if scenario.status in PROBLEMS:
        return _failure(scenario.status, scenario.error, "", scenario), None
    if scenario.status == PASSED and (hollow.whole if hollow is not None else is_hollow(scenario)):
        return Failure(PASSED, tags=scenario.tags, feature=scenario.feature, hollow=True), None
    return None, None


def _failure(status: str, error: ErrorInfo | None, step: str, scenario: Scenario) -> Failure:
    error = error or ErrorInfo()
    return Failure(status, error.type, error.message, step, scenario.tags, scenario.feature,
                   http_status(error.message), error.hook)


def classify(run: Run, rules: RuleSet, faults: Mapping[str, tuple[str, ...]] | None = None,
             hollow: Hollowness | None = None) -> list[Verdict]:
    """A verdict for every scenario that failed, errored, was masked, or passed hollow.

    ``faults`` maps a scenario key to the faults active when it failed (rules may match on them);
    ``hollow`` is the run's hollow judgment when it was made already.
    """
    verdicts = []
    seen: dict[Failure, BlockerRule | None] = {}  # equal failures get one rule: classify each once
    for scenario in run.scenarios():
        failure, index = failure_of(scenario, hollow.of(scenario) if hollow is not None else None)
        if failure is not None:
            active = faults.get(scenario.key) if faults else None
            if active:
                failure = replace(failure, faults=active)
            if failure not in seen:
                seen[failure] = rules.classify(failure)
            verdicts.append(Verdict(scenario, seen[failure], failure, index))
    return verdicts


def impacts(run: Run, verdicts: Iterable[Verdict], rules: RuleSet, hollow: Hollowness | None = None) -> list[Impact]:
    """Per blocker: scenarios and steps affected, share, projection, gap contribution, examples."""
    hollow = hollow if hollow is not None else Hollowness()
    total = passed = 0
    for scenario in run.scenarios():
        total += scenario.status != SKIPPED
        passed += scenario.status == PASSED
    grouped: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        grouped[verdict.rule.id if verdict.rule else "unclassified"].append(verdict)
    found = [_impact(rule, grouped[rule.id], total, passed, hollow) for rule in rules.rules if grouped.get(rule.id)]
    if grouped.get("unclassified"):
        other = BlockerRule("unclassified", "Not matched by any rule", "", "add a rule", ())
        found.append(_impact(other, grouped["unclassified"], total, passed, hollow))
    return sorted(found, key=lambda i: -i.scenarios)


def _impact(rule: BlockerRule, verdicts: list[Verdict], total: int, passed: int, hollow: Hollowness) -> Impact:
    failing = [v for v in verdicts if v.scenario.status != PASSED]
    steps = sum(sum(1 for s in v.scenario.steps if s.status != PASSED) for v in failing)
    steps += sum(len(hollow.of(v.scenario).steps) for v in verdicts if v.scenario.status == PASSED)
    inside = sum(sum(1 for s in v.scenario.steps if s.status == PASSED) for v in failing)
    positions = [(v.step_index + 1) / len(v.scenario.steps) for v in failing
                 if v.step_index is not None and v.scenario.steps]
    return Impact(rule, len(verdicts), steps, len(verdicts) / total if total else 0.0,
                  (passed + len(failing)) / total if total else 0.0, inside,
                  sum(positions) / len(positions) if positions else 0.0,
                  tuple(example(v) for v in verdicts[:EXAMPLES]))


def example(verdict: Verdict) -> Example:
    """A verdict as something to show (file:line of the deciding step)."""
    scenario = verdict.scenario
    step = scenario.steps[verdict.step_index] if verdict.step_index is not None else None
    error = (step.error if step else None) or scenario.masked_by or scenario.error or ErrorInfo()
    return Example(scenario.name, scenario.location, step.text if step else (error.hook or ""),
                   step.location if step else scenario.location, error.type,
                   error.message.strip().splitlines()[0][:300] if error.message.strip() else "")


def unique_errors(verdicts: Iterable[Verdict]) -> list[UniqueError]:
    """Failures grouped by exception type and normalised message, most frequent first."""
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], Verdict] = {}
    for verdict in verdicts:
        if verdict.failure.hollow:
            continue
        key = (verdict.failure.error_type, normalise(verdict.failure.message) or verdict.failure.status)
        counts[key] += 1
        first.setdefault(key, verdict)
    return [UniqueError(kind, pattern, count, _rule_id(first[(kind, pattern)]), example(first[(kind, pattern)]))
            for (kind, pattern), count in counts.most_common()]


def _rule_id(verdict: Verdict) -> str:
    return verdict.rule.id if verdict.rule is not None else "unclassified"

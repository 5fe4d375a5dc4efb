"""Pass rates: overall, per feature, tag, priority and component; steps that never ran apart."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.analysis.model import NOT_RUN, PASSED, SKIPPED, Counts, Run, Scenario

PRIORITY = re.compile(r"^p\d$", re.I)
COMPONENT_PREFIXES = ("component.", "comp.", "component:", "comp:")


@dataclass(frozen=True, slots=True)
class Rates:
    """Scenario and step counts of a group, and the rates derived from them."""

    name: str
    scenarios: Counts
    steps: Counts

    @property
    def scenario_rate(self) -> float:
        """Passed scenarios over scenarios that were meant to run (skipped ones left out)."""
        considered = self.scenarios.total - self.scenarios.get(SKIPPED)
        return self.scenarios.get(PASSED) / considered if considered else 0.0

    @property
    def step_rate(self) -> float:
        """Passed steps over all steps (what most dashboards show)."""
        return self.steps.get(PASSED) / self.steps.total if self.steps.total else 0.0

    @property
    def steps_not_run(self) -> int:
        """Steps that never ran: skipped after a failure, or untested."""
        return sum(self.steps.get(s) for s in NOT_RUN)

    @property
    def ran_step_rate(self) -> float:
        """Passed steps over steps that actually ran."""
        ran = self.steps.total - self.steps_not_run
        return self.steps.get(PASSED) / ran if ran else 0.0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"name": self.name, "scenarios": self.scenarios.as_dict(), "steps": self.steps.as_dict(),
                "scenario_pass_rate": round(self.scenario_rate, 4),
                "step_pass_rate": round(self.step_rate, 4),
                "ran_step_pass_rate": round(self.ran_step_rate, 4), "steps_not_run": self.steps_not_run}


@dataclass(frozen=True, slots=True)
class Metrics:
    """Counts like behave's summary, and rates by group."""

    features: Counts
    rules: Counts
    overall: Rates
    by_feature: tuple[Rates, ...]
    by_tag: tuple[Rates, ...]
    by_priority: tuple[Rates, ...]
    by_component: tuple[Rates, ...]


class _Group:
    __slots__ = ("scenarios", "steps")

    def __init__(self) -> None:
        self.scenarios: Counter[str] = Counter()
        self.steps: Counter[str] = Counter()

    def add(self, scenario: Scenario, step_counts: Counter[str]) -> None:
        self.scenarios[scenario.status] += 1
        self.steps.update(step_counts)

    def rates(self, name: str) -> Rates:
        return Rates(name, Counts(tuple(sorted(self.scenarios.items()))),
                     Counts(tuple(sorted(self.steps.items()))))


def component_of(tag: str, prefixes: Sequence[str] = COMPONENT_PREFIXES) -> str:
    """The component a tag names (``@component.auth`` → ``auth``), or ''."""
    for prefix in prefixes:
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return ""


def compute(run: Run, prefixes: Sequence[str] = COMPONENT_PREFIXES) -> Metrics:
    """All counts and rates of a run in one pass over its scenarios."""
    overall = _Group()
    groups: dict[str, dict[str, _Group]] = {k: defaultdict(_Group) for k in ("f", "t", "p", "c")}
    for feature in run.features:
        for scenario in feature.scenarios:
            step_counts = Counter(step.status for step in scenario.steps)
            overall.add(scenario, step_counts)
            groups["f"][feature.path or feature.name].add(scenario, step_counts)
            for tag in set(scenario.tags):
                groups["t"][tag].add(scenario, step_counts)
                if PRIORITY.match(tag):
                    groups["p"][tag.lower()].add(scenario, step_counts)
                component = component_of(tag, prefixes)
                if component:
                    groups["c"][component].add(scenario, step_counts)
    return Metrics(
        features=Counts.of(f.status for f in run.features),
        rules=Counts.of(r.status for f in run.features for r in f.rules),
        overall=overall.rates("overall"),
        by_feature=_ordered(groups["f"]), by_tag=_ordered(groups["t"]),
        by_priority=_ordered(groups["p"]), by_component=_ordered(groups["c"]))


def _ordered(groups: dict[str, _Group]) -> tuple[Rates, ...]:
    return tuple(group.rates(name) for name, group in sorted(groups.items()))


def summary_lines(metrics: Metrics) -> list[str]:
    """behave's closing summary (v1 wording), from the model."""
    lines = [_line("feature", metrics.features)]
    if metrics.rules.total:
        lines.append(_line("rule", metrics.rules))
    lines += [_line("scenario", metrics.overall.scenarios), _line("step", metrics.overall.steps)]
    return lines


_ORDER = ("passed", "failed", "error", "hook_error", "cleanup_error", "skipped", "pending",
          "pending_warn", "undefined", "untested")
_ALWAYS = ("passed", "failed", "skipped")


def _line(kind: str, counts: Counts) -> str:
    parts = []
    for status in _ORDER:
        value = counts.get(status)
        if status in _ALWAYS or value:
            noun = f"{kind}s" if value != 1 else kind
            parts.append(f"{value} {noun} passed" if status == PASSED else f"{value} {status}")
    return ", ".join(parts)


def parse_summary(text: str) -> dict[str, dict[str, int]]:
    """Parse behave's printed summary lines into {kind: {status: count}}."""
    found: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        match = re.match(r"^(\d+) (feature|rule|scenario|step)s? passed, (.*)$", line.strip())
        if not match:
            continue
        counts = {PASSED: int(match.group(1))}
        for part in match.group(3).split(", "):
            number, _, status = part.partition(" ")
            counts[status] = int(number)
        found[match.group(2)] = counts
    return found


def nonzero(counts: Counts) -> dict[str, int]:
    """Status counts without zeros (to compare with behave's summary)."""
    return {k: v for k, v in counts.by_status if v}


def flatten(items: Iterable[Rates]) -> list[dict[str, object]]:
    """Rates as dicts."""
    return [item.as_dict() for item in items]

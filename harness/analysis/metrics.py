"""Pass rates: overall, per feature, tag, priority and component; steps that never ran apart."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from harness.analysis.model import NOT_RUN, PASSED, SKIPPED, Counts, Run

_STATUS = attrgetter("status")
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


def component_of(tag: str, prefixes: Sequence[str] = COMPONENT_PREFIXES) -> str:
    """The component a tag names (``@component.auth`` → ``auth``), or ''."""
    for prefix in prefixes:
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return ""


# A scenario's signature: its status and its steps' statuses. Groups count signatures (one dict
# increment per group per scenario) and expand them once at the end: linear and cheap.
Signature = tuple[str, tuple[str, ...]]


def _groups_of(path: str, tags: tuple[str, ...], prefixes: Sequence[str]) -> tuple[tuple[str, str], ...]:
    keys = [("f", path)]
    for tag in set(tags):
        keys.append(("t", tag))
        if PRIORITY.match(tag):
            keys.append(("p", tag.lower()))
        component = component_of(tag, prefixes)
        if component:
            keys.append(("c", component))
    return tuple(keys)


def compute(run: Run, prefixes: Sequence[str] = COMPONENT_PREFIXES) -> Metrics:
    """All counts and rates of a run in one pass over its scenarios."""
    counts: dict[tuple[str, str], Counter[Signature]] = defaultdict(Counter)
    overall: Counter[Signature] = Counter()
    memo: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, str], ...]] = {}
    for feature in run.features:
        path = feature.path or feature.name
        for scenario in feature.scenarios:
            signature = (scenario.status, tuple(map(_STATUS, scenario.steps)))
            overall[signature] += 1
            key = (path, scenario.tags)
            groups = memo.get(key)
            if groups is None:
                groups = memo[key] = _groups_of(path, scenario.tags, prefixes)
            for group in groups:
                counts[group][signature] += 1
    by_kind: dict[str, list[Rates]] = {"f": [], "t": [], "p": [], "c": []}
    for (kind, name), signatures in sorted(counts.items()):
        if all(status == SKIPPED for status, _ in signatures):
            continue  # not selected in this run (tags, --include): a group with nothing to rate
        by_kind[kind].append(_rates(name, signatures))
    return Metrics(
        features=Counts.of(f.status for f in run.features),
        rules=Counts.of(r.status for f in run.features for r in f.rules),
        overall=_rates("overall", overall),
        by_feature=tuple(by_kind["f"]), by_tag=tuple(by_kind["t"]),
        by_priority=tuple(by_kind["p"]), by_component=tuple(by_kind["c"]))


def _rates(name: str, signatures: Counter[Signature]) -> Rates:
    scenarios: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    for (status, step_statuses), n in signatures.items():
        scenarios[status] += n
        for step_status in step_statuses:
            steps[step_status] += n
    return Rates(name, Counts(tuple(sorted(scenarios.items()))), Counts(tuple(sorted(steps.items()))))


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

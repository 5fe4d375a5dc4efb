"""Go/no-go: rules from YAML (shipped defaults, a project file on top), a verdict per component and overall."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.analysis.blockers import Hollowness, Impact, Verdict, impact_level
from harness.analysis.model import PASSED, SKIPPED, Run, Scenario
from harness.analysis.performance import PerfRow
from harness.analysis.resilience import SweepSummary, for_component, no_recovery, unmet
from harness.errors import ConfigError

DEFAULT_GONOGO = Path(__file__).with_name("default_gonogo.yaml")
GO, NO_GO = "GO", "NO-GO"
CHECKS = ("passes", "no_blocker", "bounds_met", "no_hollow", "no_regression", "recovers", "expectations_hold")
SWEEP_CHECKS = frozenset({"recovers", "expectations_hold"})  # judged only when a sweep was read
_RULE_KEYS = frozenset({"id", "title", "check", "tags", "levels", "severity"})


@dataclass(frozen=True, slots=True)
class GateRule:
    """One go/no-go rule."""

    id: str
    title: str
    check: str
    tags: tuple[str, ...] = ()
    levels: tuple[str, ...] = ("HIGH",)
    severity: str = "no-go"


# Not a YAML rule, so no project file can turn it into a warning: the results of a run that did not finish
# (a record without its end line or cut mid-line, a --workers worker killed) are not all there are.
FINISHED = GateRule("run-finished", "the run finished (every result is in)", "finished")


@dataclass(frozen=True, slots=True)
class GateRules:
    """The rules and the component tags to judge separately."""

    rules: tuple[GateRule, ...]
    components: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule's outcome: held or not, and why (the failing items, at most a few)."""

    rule: GateRule
    held: bool
    detail: str


@dataclass(frozen=True, slots=True)
class GoNoGo:
    """A verdict (GO / NO-GO) with the reasons; ``components`` holds one per component tag."""

    scope: str
    verdict: str
    reasons: tuple[Reason, ...]
    components: tuple[GoNoGo, ...] = ()

    @property
    def failed(self) -> tuple[Reason, ...]:
        """Rules that did not hold (no-go and warn)."""
        return tuple(r for r in self.reasons if not r.held)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"scope": self.scope, "verdict": self.verdict,
                "reasons": [{"id": r.rule.id, "title": r.rule.title, "severity": r.rule.severity,
                             "held": r.held, "detail": r.detail} for r in self.reasons],
                "components": [c.as_dict() for c in self.components]}


def load_gate_rules(project: Path | None = None) -> GateRules:
    """Defaults, with a project file's rules replacing same-id ones and adding new ones."""
    default = _read(DEFAULT_GONOGO)
    rules = {str(r.get("id")): _rule(r, DEFAULT_GONOGO) for r in default.get("rules") or ()}
    components: Sequence[Any] = default.get("components") or ()
    if project is not None:
        own = _read(project)
        rules.update({str(r.get("id")): _rule(r, project) for r in own.get("rules") or ()})
        components = own.get("components") or components
    return GateRules(tuple(rules.values()), tuple(str(c).lstrip("@") for c in components))


def _read(path: Path) -> dict[str, Any]:
    # lazy: PyYAML loads only when a rules file is read
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read go/no-go rules: {exc}", file=str(path),
                          hint="fix the YAML; see harness/analysis/default_gonogo.yaml") from exc
    if not isinstance(data, dict) or set(data) - {"rules", "components"}:
        raise ConfigError("expected a mapping with `rules:` and optionally `components:`", file=str(path),
                          hint="see harness/analysis/default_gonogo.yaml")
    return data


def _rule(raw: Mapping[str, Any], path: Path) -> GateRule:
    unknown = set(raw) - _RULE_KEYS
    if unknown or "id" not in raw or raw.get("check") not in CHECKS:
        key = sorted(unknown)[0] if unknown else ("id" if "id" not in raw else "check")
        raise ConfigError(f"go/no-go rule {raw.get('id', '?')!r}: bad or missing key", file=str(path), key=key,
                          hint=f"rule keys: {', '.join(sorted(_RULE_KEYS))}; checks: {', '.join(CHECKS)}")
    severity = str(raw.get("severity", "no-go"))
    if severity not in ("no-go", "warn"):
        raise ConfigError(f"go/no-go rule {raw['id']!r}: severity {severity!r}", file=str(path), key="severity",
                          hint="severity is no-go or warn")
    return GateRule(str(raw["id"]), str(raw.get("title", raw["id"])), str(raw["check"]),
                    tuple(str(t).lstrip("@") for t in raw.get("tags") or ()),
                    tuple(str(level).upper() for level in raw.get("levels") or ("HIGH",)), severity)


@dataclass(frozen=True, slots=True)
class _Facts:
    scenarios: tuple[Scenario, ...]
    verdicts: tuple[Verdict, ...]
    impacts: tuple[Impact, ...]
    rows: tuple[PerfRow, ...]
    hollow: Hollowness
    sweeps: tuple[SweepSummary, ...] = ()


def decide(run: Run, verdicts: Sequence[Verdict], impacts: Sequence[Impact], rows: Sequence[PerfRow],
           rules: GateRules, components: Sequence[str] = (), sweeps: Sequence[SweepSummary] = (),
           hollow: Hollowness | None = None) -> GoNoGo:
    """The overall verdict and one per component tag (``rules.components`` or ``components``).

    ``hollow`` is the run's hollow judgment when it was made already (else each scenario is judged once here).
    """
    scenarios = tuple(run.scenarios())
    facts = _Facts(scenarios, tuple(verdicts), tuple(impacts), tuple(rows),
                   hollow if hollow is not None else Hollowness(scenarios), tuple(sweeps))
    parts = tuple(_judge(tag, _only(facts, tag), rules) for tag in rules.components or components
                  if any(tag in s.tags for s in facts.scenarios))
    overall = _judge("overall", facts, rules)
    finished = Reason(FINISHED, not run.info.aborted, run.info.aborted)
    overall = replace(overall, verdict=overall.verdict if finished.held else NO_GO,
                      reasons=(finished, *overall.reasons))
    verdict = NO_GO if overall.verdict == NO_GO or any(p.verdict == NO_GO for p in parts) else GO
    return GoNoGo("overall", verdict, overall.reasons, parts)


def _only(facts: _Facts, tag: str) -> _Facts:
    keys = {s.key for s in facts.scenarios if tag in s.tags}
    return _Facts(tuple(s for s in facts.scenarios if s.key in keys),
                  tuple(v for v in facts.verdicts if v.scenario.key in keys), facts.impacts,
                  tuple(r for r in facts.rows if r.id.split("#", 1)[0] in keys), facts.hollow,
                  for_component(facts.sweeps, tag))


def _judge(scope: str, facts: _Facts, rules: GateRules) -> GoNoGo:
    reasons = tuple(_check(rule, facts) for rule in rules.rules if facts.sweeps or rule.check not in SWEEP_CHECKS)
    blocked = any(not r.held and r.rule.severity == "no-go" for r in reasons)
    return GoNoGo(scope, NO_GO if blocked else GO, reasons)


def _check(rule: GateRule, facts: _Facts) -> Reason:
    check: Callable[[GateRule, _Facts], list[str]] = _CHECKS[rule.check]
    bad = check(rule, facts)
    detail = "; ".join(bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
    return Reason(rule, not bad, detail)


def _passes(rule: GateRule, facts: _Facts) -> list[str]:
    chosen = [s for s in facts.scenarios if s.status != SKIPPED and (not rule.tags or set(rule.tags) & set(s.tags))]
    return [f"{s.location} {s.name}: {s.status}" for s in chosen if s.status != PASSED]


def _no_blocker(rule: GateRule, facts: _Facts) -> list[str]:
    mine = {v.rule.id for v in facts.verdicts if v.rule is not None and not v.failure.hollow}
    return [f"{i.rule.id} ({impact_level(i.share)}, {i.scenarios} scenarios)" for i in facts.impacts
            if impact_level(i.share) in rule.levels and i.rule.id in mine]


def _bounds_met(rule: GateRule, facts: _Facts) -> list[str]:
    return [f"{row.scenario or row.load.name}: {b.metric} {b.actual:g} (bound {b.op} {b.target:g})"
            for row in facts.rows for b in row.bounds if b.met is False and b.actual is not None]


def _no_hollow(rule: GateRule, facts: _Facts) -> list[str]:
    judged = [(s, facts.hollow.of(s)) for s in facts.scenarios]
    found = [f"{s.location} {step.text}" for s, hollow in judged for step in hollow.steps]
    found += [f"{s.location} {s.name} (verified nothing)" for s, hollow in judged if hollow.whole]
    return sorted(set(found))


def _no_regression(rule: GateRule, facts: _Facts) -> list[str]:
    return [f"{row.scenario or row.load.name}: {t.percentile} {t.now:.0f} ms vs {t.reference:.0f} ms"
            for row in facts.rows for t in row.trends if t.regressed and t.reference is not None]


def _recovers(rule: GateRule, facts: _Facts) -> list[str]:
    return no_recovery(facts.sweeps)


def _expectations_hold(rule: GateRule, facts: _Facts) -> list[str]:
    return unmet(facts.sweeps)


_CHECKS: dict[str, Callable[[GateRule, _Facts], list[str]]] = {
    "passes": _passes, "no_blocker": _no_blocker, "bounds_met": _bounds_met,
    "no_hollow": _no_hollow, "no_regression": _no_regression, "recovers": _recovers,
    "expectations_hold": _expectations_hold}

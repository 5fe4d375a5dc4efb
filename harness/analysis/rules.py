"""Blocker rules: ordered matchers from YAML (shipped defaults, a project file on top)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")
_KEYS = frozenset({"status", "error_type", "message", "step", "tags", "feature", "http_status", "hook",
                   "hollow", "fault"})
_RULE_KEYS = frozenset({"id", "title", "owner", "hint", "any"})


@dataclass(frozen=True, slots=True)
class Failure:
    """What a rule looks at: the deciding step (or hook) of one scenario."""

    status: str
    error_type: str = ""
    message: str = ""
    step: str = ""
    tags: tuple[str, ...] = ()
    feature: str = ""
    http_status: int | None = None
    hook: str = ""
    hollow: bool = False
    faults: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Matcher:
    """One entry of a rule's ``any`` list: every given key must match."""

    status: frozenset[str] | None = None
    error_type: frozenset[str] | None = None
    message: re.Pattern[str] | None = None
    step: re.Pattern[str] | None = None
    tags: frozenset[str] | None = None
    feature: re.Pattern[str] | None = None
    http_status: frozenset[int] | None = None
    hook: frozenset[str] | None = None
    hollow: bool | None = None
    fault: re.Pattern[str] | None = None

    def __call__(self, f: Failure) -> bool:
        # cheap set lookups first; regexes only when everything else matched (short-circuit)
        return ((self.status is None or f.status in self.status)
                and (self.error_type is None or f.error_type in self.error_type)
                and (self.hook is None or f.hook in self.hook)
                and (self.hollow is None or f.hollow == self.hollow)
                and (self.http_status is None or f.http_status in self.http_status)
                and (self.tags is None or not self.tags.isdisjoint(f.tags))
                and (self.feature is None or self.feature.search(f.feature) is not None)
                and (self.step is None or self.step.search(f.step) is not None)
                and (self.message is None or self.message.search(f.message) is not None)
                and (self.fault is None or any(self.fault.search(x) for x in f.faults)))


@dataclass(frozen=True, slots=True)
class BlockerRule:
    """A named blocker: id, title, owner, hint and its matchers."""

    id: str
    title: str
    owner: str
    hint: str
    matchers: tuple[Matcher, ...]

    def matches(self, failure: Failure) -> bool:
        """True when any matcher matches."""
        return any(m(failure) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Ordered rules plus the component tag prefixes."""

    rules: tuple[BlockerRule, ...]
    component_prefixes: tuple[str, ...]

    def classify(self, failure: Failure) -> BlockerRule | None:
        """The first rule that matches."""
        for rule in self.rules:
            if rule.matches(failure):
                return rule
        return None


def load_rules(project: Path | None = None) -> RuleSet:
    """Defaults, with a project file's rules first (same id replaces the default)."""
    default = _read(DEFAULT_RULES)
    if project is None:
        return _build(default, DEFAULT_RULES)
    own = _read(project)
    own_ids = {str(r.get("id")) for r in own.get("blockers") or ()}
    kept = [] if own.get("replace_defaults") else [r for r in default["blockers"] if r["id"] not in own_ids]
    merged = {"blockers": [*(own.get("blockers") or ()), *kept],
              "components": own.get("components") or default.get("components")}
    return _build(merged, project)


def _read(path: Path) -> dict[str, Any]:
    # lazy: PyYAML loads only when a rules file is read
    import yaml

    try:
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read blocker rules: {exc}", file=str(path),
                          hint="fix the YAML; see harness/analysis/default_rules.yaml") from exc
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with `blockers:`", file=str(path))
    unknown = set(data) - {"blockers", "components", "replace_defaults"}
    if unknown:
        raise ConfigError(f"unknown key {sorted(unknown)[0]!r}", file=str(path), key=sorted(unknown)[0],
                          hint="known keys: blockers, components, replace_defaults")
    return data


def _build(data: Mapping[str, Any], path: Path) -> RuleSet:
    rules = tuple(_rule(raw, path) for raw in data.get("blockers") or ())
    prefixes = tuple((data.get("components") or {}).get("prefixes") or ("component.", "comp."))
    return RuleSet(rules, prefixes)


def _rule(raw: Mapping[str, Any], path: Path) -> BlockerRule:
    unknown = set(raw) - _RULE_KEYS
    if unknown or "id" not in raw:
        key = sorted(unknown)[0] if unknown else "id"
        raise ConfigError(f"blocker {raw.get('id', '?')!r}: {'unknown' if unknown else 'missing'} key",
                          file=str(path), key=key, hint=f"rule keys: {', '.join(sorted(_RULE_KEYS))}")
    matchers = tuple(_matcher(m, path, str(raw["id"])) for m in raw.get("any") or ())
    return BlockerRule(str(raw["id"]), str(raw.get("title", raw["id"])), str(raw.get("owner", "")),
                       str(raw.get("hint", "")), matchers)


def _matcher(raw: Mapping[str, Any], path: Path, rule_id: str) -> Matcher:
    unknown = set(raw) - _KEYS
    if unknown:
        raise ConfigError(f"blocker {rule_id!r}: unknown match key", file=str(path), key=sorted(unknown)[0],
                          hint=f"match keys: {', '.join(sorted(_KEYS))}")
    return Matcher(
        status=_set(raw.get("status")), error_type=_set(raw.get("error_type")),
        message=_regex(raw.get("message"), path, rule_id), step=_regex(raw.get("step"), path, rule_id),
        tags=frozenset(str(t).lstrip("@") for t in raw["tags"]) if "tags" in raw else None,
        feature=_regex(raw.get("feature"), path, rule_id),
        http_status=frozenset(int(s) for s in raw["http_status"]) if "http_status" in raw else None,
        hook=_set(raw.get("hook")), hollow=bool(raw["hollow"]) if "hollow" in raw else None,
        fault=_regex(raw.get("fault"), path, rule_id))


def _set(value: Sequence[Any] | str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else (str(v) for v in value))


def _regex(value: str | None, path: Path, rule_id: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(str(value), re.I)
    except re.error as exc:
        raise ConfigError(f"blocker {rule_id!r}: bad regex {value!r}: {exc}", file=str(path),
                          hint="YAML needs backslashes doubled inside double quotes") from exc

"""`harness steps`: the step vocabulary (phrase, docstring, location) and hollow-step detection.

    harness steps [--dir DIR]              every step definition, read through behave's registry
    harness steps --markdown [FILE]        the same as Markdown (default docs/steps.md): the parameter
                                           types (grammar, example), then per step family (module) its
                                           docstring, its worked example (``EXAMPLE``) and its steps
    harness steps --hollow [--dir DIR]     definitions whose body only passes, logs or prints:
                                           path:line per step, exit 1 when any is found

Hollow detection is static (ast, no import): a body is hollow when every statement is
``pass``, ``...``, a docstring, a bare ``return``, ``print(...)`` or a logging call. Anything
else — an assert, a raise, an assignment, a call into the system or the harness — is real work.
A check that cannot fail is hollow too, wherever it stands: an ``expect`` call whose condition is
a constant (``expect.that(True, ...)``) or that compares a value with itself
(``expect.equal(x, x, ...)``, ``expect.that(a == a, ...)``) counts a verification for nothing;
a step that only configures should call ``expect.drove`` (an action) instead.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import steplib
from harness.errors import ConfigError

STEP_DECORATORS = frozenset({"given", "when", "then", "step", "Given", "When", "Then", "Step"})
LOG_NAMES = frozenset({"logger", "log", "logging", "LOG", "LOGGER", "_log", "_logger"})
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "critical", "exception", "log"})


@dataclass(frozen=True, slots=True)
class StepDef:
    """One step definition: keyword, phrase, first docstring line, file:line, its module and parameter types."""

    keyword: str
    phrase: str
    doc: str
    location: str
    module: str = ""
    types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParamType:
    """A parameter type of the step grammar (``{name:Type}``): what it means, its grammar, an example."""

    name: str
    meaning: str
    grammar: str
    example: str


@dataclass(frozen=True, slots=True)
class Family:
    """The steps of one module: its docstring, its worked example (``EXAMPLE``), its steps."""

    module: str
    doc: str
    example: str
    steps: tuple[StepDef, ...]


# parse's own format types that steps use: {count:d} and the like
BUILTIN_TYPES = {
    "d": ParamType("d", "A whole number (parse's built-in integer).", "DIGITS, an optional sign", "3"),
    "f": ParamType("f", "A decimal number (parse's built-in float).", "DIGITS.DIGITS", "2.5"),
    "w": ParamType("w", "One word (parse's built-in).", "letters, digits and _", "queen"),
}
_TYPE_USE = re.compile(r"\{\w*:(\w+)\}")


@dataclass(frozen=True, slots=True)
class Hollow:
    """A step definition that cannot fail: where and what it claims to do."""

    location: str
    name: str


def vocabulary(steps_dir: Path) -> list[StepDef]:
    """Every step definition in ``steps_dir``, loaded through behave's step registry."""
    # lazy: behave loads only where .feature files are parsed (analysis of result files never needs it)
    from behave import step_registry
    from behave.runner_util import load_step_modules

    if not steps_dir.is_dir():
        raise ConfigError(f"no steps folder {steps_dir}", hint="pass --dir DIR")
    step_registry.registry.clear()
    load_step_modules([str(steps_dir)])
    found = []
    for keyword, matchers in step_registry.registry.steps.items():
        for matcher in matchers:
            doc = inspect.getdoc(matcher.func) or ""
            found.append(StepDef(keyword, str(matcher.pattern), doc.splitlines()[0] if doc else "",
                                 str(matcher.location), str(matcher.func.__module__),
                                 tuple(_TYPE_USE.findall(str(matcher.pattern)))))
    return sorted(found, key=lambda s: (s.location.rsplit(":", 1)[0], _line(s.location)))


def parameter_types() -> dict[str, ParamType]:
    """Every parameter type the loaded step modules registered, read from its converter's docstring.

    A converter's docstring is its meaning (first line), then ``Grammar:`` and ``Example:`` lines
    (a line indented under one continues it). Call after :func:`vocabulary` loaded the steps.
    """
    # lazy: behave loads only where .feature files are parsed (analysis of result files never needs it)
    from behave.matchers import ParseMatcher, get_step_matcher_factory

    classes = [ParseMatcher, *get_step_matcher_factory().step_matcher_class_mapping.values()]
    registries = [registry for cls in classes if isinstance(registry := getattr(cls, "TYPE_REGISTRY", None), dict)]
    found = dict(BUILTIN_TYPES)
    for registry in registries:
        for name, converter in registry.items():
            found[name] = _param_type(name, inspect.getdoc(converter) or "")
    return found


def _param_type(name: str, doc: str) -> ParamType:
    fields: dict[str, list[str]] = {"meaning": [], "grammar": [], "example": []}
    current = "meaning"
    for line in doc.splitlines():
        label, _, rest = line.partition(":")
        if label in ("Grammar", "Example"):
            current, line = label.lower(), rest
        if line.strip():
            fields[current].append(line.strip())
    return ParamType(name, " ".join(fields["meaning"]), " ".join(fields["grammar"]), " ".join(fields["example"]))


def families(steps: list[StepDef]) -> list[Family]:
    """The steps grouped by module, with each module's docstring and worked example (in file order)."""
    modules: dict[str, list[StepDef]] = {}
    for step in steps:
        modules.setdefault(step.location.rsplit(":", 1)[0], []).append(step)
    found = []
    for location, group in modules.items():
        doc, example = _module_texts(Path(location))
        found.append(Family(Path(location).stem, doc, example, tuple(group)))
    return found


def _module_texts(path: Path) -> tuple[str, str]:
    """A step module's docstring and its ``EXAMPLE`` string, read without importing it (behave execs step files)."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (OSError, SyntaxError):
        return "", ""
    example = next((node.value.value for node in tree.body if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "EXAMPLE" for t in node.targets)
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)), "")
    return ast.get_docstring(tree) or "", inspect.cleandoc(example)


def _line(location: str) -> int:
    tail = location.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def static_hollow(steps_dir: Path) -> list[Hollow]:
    """Step definitions under ``steps_dir`` whose body only passes, logs or prints."""
    found: list[Hollow] = []
    files = sorted(steps_dir.rglob("*.py"))
    if any("use_generic_steps" in path.read_text() for path in files):  # the generic library is loaded too
        files += sorted(steplib.steps_dir().glob("*.py"))
    for path in files:
        found.extend(hollow_in(path))
    return found


def hollow_in(path: Path) -> Iterator[Hollow]:
    """Hollow step definitions, and checks that cannot fail, in one file."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as exc:
        raise ConfigError(f"cannot parse: {exc.msg} (line {exc.lineno})", file=str(path)) from exc
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_step(node) and _hollow(node.body):
            line = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield Hollow(f"{path}:{line}", _phrase(node) or node.name)
        elif isinstance(node, ast.Call):
            why = _cannot_fail(node)
            if why:
                yield Hollow(f"{path}:{node.lineno}", why)


# expect.<name>: how many leading arguments are compared with each other (1: a condition alone)
_EXPECT_OPERANDS = {"that": 1, "equal": 2, "not_equal": 2, "contains": 2, "matches": 2, "at_most": 2,
                    "at_least": 2}


def _cannot_fail(call: ast.Call) -> str:
    """Why an ``expect.<check>(...)`` call can never fail, or "" when it can."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "expect"):
        return ""
    operands = _EXPECT_OPERANDS.get(func.attr, 0)
    args = call.args[:operands]
    if not operands or len(args) < operands:
        return ""
    if operands == 1:
        condition = args[0]
        if isinstance(condition, ast.Constant):
            return f"expect.{func.attr} with a constant condition ({condition.value!r}): it can never fail"
        if isinstance(condition, ast.Compare) and len(condition.comparators) == 1 and _same(
                condition.left, condition.comparators[0]):
            return f"expect.{func.attr} compares {ast.unparse(condition.left)} with itself: it can never fail"
        return ""
    if _same(args[0], args[1]):
        return f"expect.{func.attr} compares {ast.unparse(args[0])} with itself: it can never fail"
    if all(isinstance(a, ast.Constant) for a in args):
        return f"expect.{func.attr} compares two constants: it can never fail"
    return ""


def _same(a: ast.expr, b: ast.expr) -> bool:
    return ast.dump(a) == ast.dump(b)


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _is_step(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_decorator_name(d) in STEP_DECORATORS for d in func.decorator_list)


def _phrase(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    for deco in func.decorator_list:
        if isinstance(deco, ast.Call) and deco.args and isinstance(deco.args[0], ast.Constant):
            return f"{_decorator_name(deco)} {deco.args[0].value!s}"
    return ""


def _hollow(body: list[ast.stmt]) -> bool:
    return all(_inert(stmt) for stmt in body)


def _inert(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Return):
        return stmt.value is None or (isinstance(stmt.value, ast.Constant) and stmt.value.value is None)
    if isinstance(stmt, ast.Expr):
        if isinstance(stmt.value, ast.Constant):
            return True
        return isinstance(stmt.value, ast.Call) and _is_log_call(stmt.value)
    return False


def _is_log_call(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "print"
    if isinstance(func, ast.Attribute) and func.attr in LOG_METHODS:
        owner = func.value
        if isinstance(owner, ast.Name):
            return owner.id in LOG_NAMES
        if isinstance(owner, ast.Call):  # logging.getLogger(...).info(...)
            return _decorator_name(owner) == "getLogger"
    return False


def markdown(steps: list[StepDef], types: dict[str, ParamType] | None = None) -> str:
    """The vocabulary as a Markdown document: parameter types, then each family's text, example and steps."""
    types = types if types is not None else dict(BUILTIN_TYPES)
    used = sorted({name for step in steps for name in step.types}, key=str.lower)
    lines = ["# Step vocabulary", "", "Generated by `harness steps --markdown` from the step modules' docstrings "
             "and the parameter types they register; do not edit by hand.", "",
             "A phrase's `{name:Type}` is a parameter; its type says what may stand there. `{name}` in a "
             "quoted value is filled from a value an earlier step remembered (`\\{name}` keeps the braces).", "",
             "## Parameter types", "", "| Type | Grammar | Meaning | Example |", "|---|---|---|---|"]
    for name in used:
        kind = types.get(name, ParamType(name, "(no entry)", "", ""))
        lines.append(f"| `{name}` | {_cell(kind.grammar)} | {_cell(kind.meaning)} | `{_cell(kind.example)}` |")
    for family in families(steps):
        lines += ["", f"## {family.module}", ""]
        if family.doc:
            lines += [family.doc, ""]
        if family.example:
            lines += ["Worked example:", "", "```gherkin", family.example, "```", ""]
        lines += ["| Keyword | Phrase | Description | Location |", "|---|---|---|---|"]
        lines += [f"| {s.keyword} | `{_cell(s.phrase)}` | {_cell(s.doc)} | {s.location} |" for s in family.steps]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main(argv: list[str]) -> int:
    """Print the step vocabulary, write it as Markdown, or list hollow steps."""
    parser = argparse.ArgumentParser(prog="harness steps", description=main.__doc__)
    parser.add_argument("--dir", type=Path, default=Path("steps"), help="step modules folder (default steps/)")
    parser.add_argument("--hollow", action="store_true", help="list hollow step definitions; exit 1 if any")
    parser.add_argument("--markdown", nargs="?", const=Path("docs/steps.md"), type=Path,
                        help="write the vocabulary as Markdown (default docs/steps.md)")
    args = parser.parse_args(argv)
    if args.hollow:
        if not args.dir.is_dir():
            raise ConfigError(f"no steps folder {args.dir}", hint="pass --dir DIR")
        found = static_hollow(args.dir)
        for hollow in found:
            print(f"{hollow.location}: hollow step: {hollow.name}")
        return 1 if found else 0
    steps = vocabulary(args.dir)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(steps, parameter_types()))
        print(f"wrote {args.markdown} ({len(steps)} steps)")
        return 0
    for step in steps:
        print(f"{step.keyword:<5} {step.phrase}\n      {step.doc or '(no docstring)'}  # {step.location}")
    return 0

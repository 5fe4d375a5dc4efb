"""Self-checks that fail loudly: a run that ran nothing must never look green."""

from __future__ import annotations

from harness.analysis.model import NOT_RUN, Run
from harness.errors import AnalysisError


def check(run: Run) -> None:
    """Raise AnalysisError when the run cannot be trusted (nothing ran, aborted before features)."""
    sources = ", ".join(run.info.sources) or "the input"
    if not run.features:
        raise AnalysisError(_before_all(run) or f"{sources}: nothing ran: no features in the input",
                            hint="a before_all hook error, a wrong features path, or an empty shard")
    ran = any(s.status not in NOT_RUN or s.masked_by is not None for s in run.scenarios())
    if ran or any(f.hook_error is not None for f in run.features):
        return
    if run.info.hook_errors:
        raise AnalysisError(_before_all(run), hint="fix the hook error; nothing else ran")
    tags = f" (tags: {run.info.tags})" if run.info.tags else ""
    behave = bool({"behave-json", "record"} & set(run.info.formats))
    raise AnalysisError(f"{sources}: nothing ran: {sum(1 for _ in run.scenarios())} tests, all skipped or "
                        f"untested{tags}",
                        hint="the tag expression selected nothing? Use v2 syntax (`not @wip`, "
                             "`@a or @b`): behave 1.2.6 silently selects nothing with it" if behave else
                        "every test was skipped or disabled: check the runner's filter (tags, -k, "
                        "--grep) and that the tests were not all marked skipped")


def _before_all(run: Run) -> str:
    for error in run.info.hook_errors:
        return f"HOOK-ERROR in {error.hook or 'before_all'}: {error.type}: {error.message}".strip()
    return ""

"""Real behave (in a subprocess) loads the generic steps and runs them; the hooks count each step.

The tmp project's environment.py uses the harness's hooks, but gives every scenario a fake
environment whose services are a local server, so no Docker is needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.steps.kit import REPO

ENVIRONMENT = '''
from harness.run import behave_hooks
from harness.env.config import Settings
from harness.run.session import Environments, Session
from tests.steps.kit import FakeEnv
from tests.steps.server import serving

before_step = behave_hooks.before_step
after_scenario = behave_hooks.after_scenario


def before_all(context):
    context.server = serving()
    context.url = context.server.__enter__()
    settings = Settings.build(context.config.userdata)
    context.harness = Session(settings, Environments(settings, "run", {}))


def before_scenario(context, scenario):
    context.harness.begin_scenario(None, False)
    context.harness._env = FakeEnv(context.url)


def after_step(context, step):
    behave_hooks.after_step(context, step)
    with open("counts.txt", "a") as out:
        out.write(f"{step.name}\\t{step.harness_verifications}\\t{step.harness_actions}\\n")


def after_all(context):
    context.server.__exit__(None, None, None)
'''

LOADER = f'''
import runpy
for name in ("env_steps", "http_steps", "stream_steps", "wait_steps"):
    runpy.run_path({str(REPO / "harness" / "stepdefs")!r} + f"/{{name}}.py", run_name=f"generic_steps.{{name}}")
'''

FEATURE = '''
Feature: the generic steps under behave

  Scenario: requests, streams and retries pass
    Given the default service is "web"
    When I send a POST request to "/echo" as tenant "acme" with JSON:
      """
      {"n": 1}
      """
    Then the response status is 200
    And the response JSON at "json.n" equals 1
    When I remember the response JSON at "path" as "p"
    And I stream a GET request to "/events"
    Then the events arrive in order: job_started, token, job_completed
    And within 5 seconds:
      """
      When I send a GET request to "{p}"
      Then the response JSON at "method" equals "GET"
      """

  Scenario: a failing check fails the scenario with its message
    When I send a GET request to "/json" on "web"
    Then the response JSON at "error.code" equals "something_else"
'''


def test_behave_runs_the_generic_steps_and_the_hooks_count_them(tmp_path: Path) -> None:
    (tmp_path / "steps").mkdir()
    (tmp_path / "features").mkdir()
    (tmp_path / "steps" / "use_generic.py").write_text(LOADER)
    (tmp_path / "environment.py").write_text(textwrap.dedent(ENVIRONMENT))
    (tmp_path / "features" / "generic.feature").write_text(FEATURE)
    done = subprocess.run([sys.executable, "-m", "behave", "-f", "json", "-o", "out.json", "--no-capture",
                           "features"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stdout + done.stderr
    scenarios = json.loads((tmp_path / "out.json").read_text())[0]["elements"]
    assert [s["status"] for s in scenarios] == ["passed", "failed"], done.stdout
    failed = scenarios[1]["steps"][1]["result"]
    message = "".join(failed["error_message"])
    assert "the response JSON at 'error.code': expected \"something_else\", got \"bad_input\"" in message
    counts = {line.split("\t")[0]: tuple(map(int, line.split("\t")[1:]))
              for line in (tmp_path / "counts.txt").read_text().splitlines()}
    assert counts['I send a POST request to "/echo" as tenant "acme" with JSON:'] == (0, 1)
    assert counts["the response status is 200"] == (1, 0)
    assert counts['I stream a GET request to "/events"'] == (1, 1)
    assert counts["within 5 seconds:"] == (3, 1)
    assert all(v + a > 0 for v, a in counts.values()), counts


# -- userdata keys: a mistyped -D key stops the run, naming the key ------------------------------

STRICT_FEATURE = '''
Feature: userdata

  Scenario: nothing but a step
    Given nothing happens
'''


def strict_project(tmp_path: Path, ini: str = "") -> Path:
    """A project with the harness's own hooks, one environment declaring ``hives`` and no Docker use."""
    for folder in ("steps", "features", "environments"):
        (tmp_path / folder).mkdir()
    (tmp_path / "environment.py").write_text("from harness.run.behave_hooks import *  # noqa: F403\n")
    (tmp_path / "steps" / "s.py").write_text("from behave import given\n\n\n@given('nothing happens')\n"
                                              "def _(context):\n    pass\n")
    (tmp_path / "features" / "u.feature").write_text(STRICT_FEATURE)
    (tmp_path / "environments" / "e.yaml").write_text("description: x\ntemplate: t.j2\nparameters: {hives: 2}\n")
    if ini:
        (tmp_path / "behave.ini").write_text(ini)
    return tmp_path


def behave(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "behave", "--no-capture", "-f", "plain", *args, "features"],
                          cwd=project, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_a_mistyped_define_fails_the_run_naming_the_key(tmp_path: Path) -> None:
    done = behave(strict_project(tmp_path), "-D", "keyy=1")
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "HOOK-ERROR in before_all" in out, out
    assert "unknown userdata key 'keyy'" in out and "Hint: Known keys are harness settings" in out, out
    assert "1 scenario passed" not in out


def test_a_mistyped_key_in_behave_ini_userdata_fails_too(tmp_path: Path) -> None:
    done = behave(strict_project(tmp_path, "[behave.userdata]\nhivez = 3\n"))
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "unknown userdata key 'hivez'" in out and "did you mean hives" in out, out


def test_settings_and_declared_parameters_are_accepted(tmp_path: Path) -> None:
    done = behave(strict_project(tmp_path, "[behave.userdata]\nhttp_timeout = 5\n"), "-D", "hives=3")
    assert done.returncode == 0 and "1 scenario passed" in done.stdout, done.stdout + done.stderr


def test_harness_run_with_a_mistyped_define_exits_2(tmp_path: Path) -> None:
    project = strict_project(tmp_path)
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "-D", "keyy=1"], cwd=project,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "keyy" in done.stdout + done.stderr

"""One error tree for the whole harness.

    HarnessError                      root: everything the harness raises on purpose
    ├── ConfigError                   a YAML file, key, parameter or CLI option is wrong (file, key)
    │   └── TemplateError             a compose template does not render (template, line, name)
    ├── RequestFailed                 an HTTP request got no answer (harness.clients.http)
    ├── NoAddress                     a service has no address to connect to (service, port; transient when
    │                                 it is declared but not running now)
    ├── DockerError                   the engine or the Compose CLI failed
    │   ├── DockerUnavailable         no engine answers
    │   ├── ComposeError              `docker compose ...` exited non-zero (argv, exit_code, stderr)
    │   │   └── ComposeTimeout        `docker compose ...` gave no answer within `timeouts.compose` (seconds, setting)
    │   ├── BuildError                a service's image did not build (service, dockerfile, log_tail)
    │   ├── EnvironmentStopped        every container of an environment stopped, no fault did it (engine restart)
    │   └── ImageMissing              an image a remote engine needs is on neither engine (image, engine)
    ├── StartupError                  an environment did not come up (service, project, state, logs)
    │   ├── ServiceExited             a container exited while we waited
    │   ├── ServiceUnhealthy          a container's own healthcheck says unhealthy
    │   └── ReadinessTimeout          a probe did not answer within the timeout
    ├── FaultError                    a fault could not be injected or reverted
    │   ├── RevertFailed              some faults could not be undone (harness.faults.stack)
    │   └── ProxyApiError             the fault proxy's control API refused (harness.faults.proxy_client)
    ├── LoadError                     the load driver was misused or could not run
    ├── WaitTimeout                   a waited-for condition never came true (what, waited, attempts, last)
    ├── ScenarioOverTime              a sweep cell's scenario ran past its time limit under the fault (scenario,
    │                                 limit, fault): a hang under a fault is a detection
    ├── AnalysisError                 an input to `harness analyze` is unreadable or suspicious
    └── VerificationFailed            a step's check failed (also an AssertionError, so behave
        │                             reports the step as `failed`, not `error`)
        ├── PathNotFound              a JSON path is missing from a document (harness.clients.jsonpath)
        └── ServiceDown               a waiting block ran out of time on transient errors (service, attempts,
                                      seconds, last error)

Every error carries its context as attributes and a message that says what failed, what was
observed and, after ``Hint:``, what to do next. Foreign errors (subprocess, docker, httpx) are
translated once, where they are raised, with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.hint = hint
        super().__init__(f"{message}\nHint: {hint}" if hint else message)


class ConfigError(HarnessError):
    """A configuration file, key, parameter or option is wrong."""

    def __init__(self, message: str, *, file: str = "", key: str = "", hint: str = "") -> None:
        self.file = file
        self.key = key
        where = ", ".join(part for part in (file, f"key {key!r}" if key else "") if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class TemplateError(ConfigError):
    """A compose template failed to render."""

    def __init__(self, message: str, *, template: str, line: int | None, name: str = "",
                 hint: str = "") -> None:
        self.template = template
        self.line = line
        self.name = name
        location = f"{template}:{line}" if line else template
        super().__init__(message, file=location, hint=hint)


class DockerError(HarnessError):
    """The Docker engine or the Compose CLI failed."""


class DockerUnavailable(DockerError):
    """No Docker engine answers."""


class ComposeError(DockerError):
    """A `docker compose` command exited non-zero."""

    def __init__(self, argv: Sequence[str], exit_code: int, stderr: str, *, hint: str = "") -> None:
        self.argv = list(argv)
        self.exit_code_observed = exit_code
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-20:])
        super().__init__(
            f"`{' '.join(self.argv)}` exited {exit_code}:\n{tail}",
            hint=hint or "read the compose output above; `harness logs SERVICE` shows a service's logs",
        )


class ComposeTimeout(ComposeError):
    """A `docker compose` command gave no answer within its bound (`timeouts.compose`); it was stopped."""

    def __init__(self, argv: Sequence[str], verb: str, project: str, seconds: float, setting: str) -> None:
        self.project = project
        self.seconds = seconds
        self.setting = setting
        DockerError.__init__(
            self,
            f"`docker compose {verb}` of project {project} gave no answer within {seconds:g} s "
            f"(the bound set by `timeouts.compose`): it was stopped and the project taken down",
            hint=f"raise `timeouts.compose` in {setting} if the engine is just slow; if it hangs every time, "
                 "`docker info` and the engine's log say why (a stuck engine or compose plugin)")
        self.argv = list(argv)
        self.exit_code_observed = -1
        self.stderr = ""


class EnvironmentStopped(DockerError):
    """Every container of an environment stopped during a scenario and none of its faults did it."""

    def __init__(self, env: str, project: str, states: Sequence[str]) -> None:
        self.env = env
        self.project = project
        self.states = list(states)
        super().__init__(
            f"every container of environment {env!r} (project {project}) stopped during this scenario "
            f"({', '.join(states)}), and no fault of the scenario did it: the Docker engine restarted, or "
            "something outside the harness stopped them",
            hint="the next scenario gets a fresh environment; `docker info` and the engine's log say whether "
                 "it restarted (`journalctl -u docker`); a restart policy does not bring compose projects back")


class BuildError(DockerError):
    """An image (a compose service's `build:` or a harness recipe) did not build."""

    def __init__(self, message: str, *, service: str, dockerfile: str, log_tail: str = "",
                 hint: str = "") -> None:
        self.service = service
        self.dockerfile = dockerfile
        self.log_tail = log_tail
        details = f"service {service!r}: image from {dockerfile} did not build: {message}"
        if log_tail:
            details += "\nlast build output:\n" + log_tail.rstrip()
        super().__init__(details, hint=hint)


class ImageMissing(DockerError):
    """An image a remote engine needs is there neither nor on the local engine it is copied from."""

    def __init__(self, message: str, *, image: str, engine: str, hint: str = "") -> None:
        self.image = image
        self.engine = engine
        super().__init__(f"image {image} for the engine at {engine}: {message}", hint=hint)


class StartupError(HarnessError):
    """An environment did not come up."""

    def __init__(self, message: str, *, service: str, project: str, state: str = "",
                 exit_code: int | None = None, oom_killed: bool = False, health: str = "",
                 log_tail: str = "", hint: str = "") -> None:
        self.service = service
        self.project = project
        self.state = state
        self.container_exit_code = exit_code
        self.oom_killed = oom_killed
        self.health = health
        self.log_tail = log_tail
        details = [f"service {service!r} of project {project!r}: {message}"]
        if state:
            details.append(f"state={state} exit_code={exit_code} oom_killed={oom_killed}")
        if health:
            details.append(f"last health output: {health.strip()}")
        if log_tail:
            details.append("last log lines:\n" + log_tail.rstrip())
        super().__init__("\n".join(details), hint=hint)


class ServiceExited(StartupError):
    """A container exited while the environment was coming up."""


class ServiceUnhealthy(StartupError):
    """A container's own healthcheck reports unhealthy."""


class ReadinessTimeout(StartupError):
    """A readiness probe did not answer in time."""


class FaultError(HarnessError):
    """A fault could not be injected or reverted."""


class LoadError(HarnessError):
    """The load driver was misused or could not run."""


class WaitTimeout(HarnessError):
    """A condition waited for (harness.waiting.Wait.until) did not come true in time."""

    def __init__(self, what: str, *, timeout: float, waited: float, attempts: int, last: str,
                 hint: str = "") -> None:
        self.what = what
        self.timeout = timeout
        self.waited = waited
        self.attempts = attempts
        self.last = last
        super().__init__(f"waited {waited:.1f} s (limit {timeout:g} s, {attempts} attempts) for {what}; "
                         f"last observed: {last}", hint=hint)


class ScenarioOverTime(HarnessError):
    """A sweep cell's scenario ran past its time limit under the cell's fault (harness.run.overtime).

    Not a VerificationFailed: a waiting block must not retry it, the scenario ends here.
    """

    exit_code = 1

    def __init__(self, *, scenario: str, limit: float, fault: str) -> None:
        self.scenario = scenario
        self.limit = limit
        self.fault = fault
        super().__init__(f"timed out under {fault}: the scenario ran past its limit of {limit:g} s",
                         hint="the limit is the sweep's --scenario-timeout (default: twice the scenario's "
                              "fault-free duration plus a few seconds); a hang under a fault is a detection")


class AnalysisError(HarnessError):
    """An input to the analyzer is unreadable or suspicious."""


class NoAddress(HarnessError):
    """A service has no address to connect to: unknown, without that port, or not running now."""

    def __init__(self, message: str, *, service: str, port: int | None, transient: bool, hint: str = "") -> None:
        self.service = service
        self.port = port
        self.transient = transient
        super().__init__(message, hint=hint)


class VerificationFailed(HarnessError, AssertionError):
    """A step's check failed; behave reports it as `failed`."""

    exit_code = 1


class ServiceDown(VerificationFailed):
    """A waiting block's every attempt until its deadline failed on a transient error (refused, reset, ...)."""

    def __init__(self, *, service: str, attempts: int, seconds: float, last: str, block: str,
                 observed: str = "") -> None:
        self.service = service
        self.attempts = attempts
        self.seconds = seconds
        self.last = last
        who = f"service {service!r}" if service else "the service"
        super().__init__(
            f"{who} did not come back within {seconds:g} s ('{block}', {attempts} attempts"
            f"{'; ' + observed if observed else ''}); last error: {last}",
            hint=f"`harness logs {service or 'SERVICE'}` shows why it is down; `harness status` whether it runs")

"""The public namespace is pinned: adding or removing a name is a conscious change."""

import harness


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert harness.__all__ == sorted(harness.__all__)
    for name in harness.__all__:
        assert getattr(harness, name) is not None


def test_pinned_names() -> None:
    assert harness.__all__ == [
        "AnalysisError", "BuildError", "ComposeError", "ConfigError", "DockerError", "DockerUnavailable", "Environment",
        "EnvironmentSpec", "FaultError", "HarnessError", "ImageMissing", "LoadError", "ReadinessTimeout",
        "ServiceExited", "ServiceUnhealthy", "Session", "Settings", "StartupError", "TemplateError",
        "VerificationFailed", "eventually", "expect", "load_environment", "poll",
    ]

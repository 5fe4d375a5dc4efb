"""One environment: configure, render, build, bring up, probe, save, reuse and take down a compose project."""

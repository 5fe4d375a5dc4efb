"""`harness sweep`: a team's own scenarios under every fault its stack can suffer, and what holds.

    space      the fault space of an environment: per service and per edge A->B (the test machine's too)
    observe    dynamic reduction: a fault nobody's scenario touched cannot change its outcome
    outcome    a cell's outcome: tolerated, detected, no recovery, not exercised
    expect     a project's resilience.yaml: what should hold; a differing cell is a finding
    report     sweep.json, sweep.md, sweep.html (heatmap), the score, the diff against a baseline sweep
    merge      `--merge`: several sweeps (CI shards, or divided by hand) as one; missing shards named
    driver     brings the environment up once, runs the baseline, then cell after cell, measuring recovery
    cli        `harness sweep ...`
"""

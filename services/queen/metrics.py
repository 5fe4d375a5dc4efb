"""Prometheus text exposition for the queen."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Counters and one latency histogram, rendered on demand."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.jobs: Counter[str] = Counter()
        self.latency_counts = [0] * len(LATENCY_BUCKETS)
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe_request(self, route: str, method: str, status: int) -> None:
        """Count one HTTP request."""
        self.requests[(route, method, status)] += 1

    def observe_job(self, outcome: str, seconds: float | None) -> None:
        """Count a finished (or rejected) job; completed ones feed the latency histogram."""
        self.jobs[outcome] += 1
        if seconds is None:
            return
        self.latency_sum += seconds
        self.latency_count += 1
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.latency_counts[i] += 1

    def render(self, queue_depth: int, workers: Mapping[str, int], hives: Mapping[str, int]) -> str:
        """The whole exposition."""
        lines = [
            "# HELP queen_http_requests_total HTTP requests by route, method and status.",
            "# TYPE queen_http_requests_total counter",
        ]
        lines += [
            f'queen_http_requests_total{{route="{r}",method="{m}",status="{s}"}} {n}'
            for (r, m, s), n in sorted(self.requests.items())
        ]
        lines += [
            "# HELP queen_inference_latency_seconds Accept-to-completion time of completed jobs.",
            "# TYPE queen_inference_latency_seconds histogram",
        ]
        lines += [
            f'queen_inference_latency_seconds_bucket{{le="{b}"}} {c}'
            for b, c in zip(LATENCY_BUCKETS, self.latency_counts, strict=False)
        ]
        lines += [
            f'queen_inference_latency_seconds_bucket{{le="+Inf"}} {self.latency_count}',
            f"queen_inference_latency_seconds_sum {self.latency_sum:.6f}",
            f"queen_inference_latency_seconds_count {self.latency_count}",
        ]
        lines += _gauge("queen_workers", "Workers by state, as last reported by hives.", "state", workers)
        lines += _gauge("queen_hives", "Hives by state.", "state", hives)
        lines += [
            "# HELP queen_queue_depth Accepted jobs waiting for a worker.",
            "# TYPE queen_queue_depth gauge",
            f"queen_queue_depth {queue_depth}",
        ]
        lines += ["# HELP queen_jobs_total Jobs by outcome.", "# TYPE queen_jobs_total counter"]
        lines += [
            f'queen_jobs_total{{outcome="{o}"}} {self.jobs[o]}'
            for o in sorted({"completed", "failed", "rejected", *self.jobs})
        ]
        return "\n".join(lines) + "\n"


def _gauge(name: str, help_text: str, label: str, values: Mapping[str, int]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"] + [
        f'{name}{{{label}="{k}"}} {v}' for k, v in sorted(values.items())
    ]

"""`harness run --workers/--shard`: plan, claim, gate, merge — the pool's side and the worker's view of it."""

"""Reference system under test: queen (public API), hive (worker pool), worker (token stream)."""

"""Queen: the public API — auth, validation, tenants, rate limits, queueing, dispatch to hives."""

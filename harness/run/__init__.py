"""A behave run: the session on behave's context, the run record and the hooks."""

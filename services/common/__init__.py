"""Shared plumbing for the three services: config, logs, HTTP middleware, SSE, tokens, auth."""

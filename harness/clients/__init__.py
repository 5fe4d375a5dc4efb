"""How steps talk to services: HTTP, WebSocket, SSE, frames, execs, SQL/Redis, metrics, tokens, JSON paths."""

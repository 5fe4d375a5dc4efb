"""The Docker engine (which one, and light reads of its API) and the Compose v2 CLI."""

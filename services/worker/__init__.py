"""Worker: loads one model and streams deterministic tokens for jobs the hive sends."""

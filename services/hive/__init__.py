"""Hive: a pool of workers behind one address; registry, scheduling, relaying, provisioning."""

"""Definitions from and to files: Swarm.toml (``swarm/``); standard library and core only."""

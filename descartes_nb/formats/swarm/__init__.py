"""Swarm.toml: read (``_load``, ``_read``, ``_state``), write, line index, report; guards."""

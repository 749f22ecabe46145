"""The core: definitions, the engine, machines, history, handlers and clocks (stdlib only)."""

"""The core, standard library only and no I/O: definitions, events, the engine, machines.

Also history, handlers, clocks and timers, serialization and the store protocol. Its modules
are internal (leading underscore); ``descartes_nb`` exports the public names.
"""

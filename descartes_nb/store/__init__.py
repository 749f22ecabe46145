"""The store layer: workflows, their history and checkpoints in SQLite (aiosqlite).

Its public names are exported by ``descartes_nb``: ``SqliteWorkflowStore``,
``StateStoreConfig``, ``Checkpoint``, ``StoreStats``.
"""

"""The store layer: workflows, their history and checkpoints in SQLite or PostgreSQL.

Its public names are exported by ``descartes_nb``: ``SqliteWorkflowStore``,
``PostgresWorkflowStore``, ``open_store``, ``StateStoreConfig``, ``Checkpoint``, ``StoreStats``.
"""

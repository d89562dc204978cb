"""The query console's data layer: statements, result paging, history, buffers, completion.

Nothing here imports Textual or Rich, or a database driver: the backends provide the
cursors (`dbinspect.backends.sqlite_console`, `dbinspect.backends.postgres_console`).
"""

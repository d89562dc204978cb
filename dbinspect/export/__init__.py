"""Exports rows to CSV, JSON Lines or SQL INSERTs: one value encoder, one streaming exporter.

`encode` turns one SQLite value into each format's exact text, and `batch` writes whole
batches of rows with the same text, faster; `exporter` streams a relation's rows (filtered
and sorted as browsed) in one pass where the backend can, else page by page.
Every reader of rows that writes them out (the Data pane, the command line, the query
console, backups) uses these two, so a BLOB, a NULL or an infinity reads the same in all.
"""

"""Exports rows to CSV, JSON Lines or SQL INSERTs: one value encoder, one streaming exporter.

`encode` turns one SQLite value into each format's exact text; `exporter` streams a
relation's rows (filtered and sorted as browsed) page by page through any `RowPager`.
Every reader of rows that writes them out (the Data pane, the command line, the query
console, backups) uses these two, so a BLOB, a NULL or an infinity reads the same in all.
"""

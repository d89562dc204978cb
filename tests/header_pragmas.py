"""The PRAGMAs behind the facts `info` and the Connection pane report, for tests to compare."""

HEADER_PRAGMAS = (
    "journal_mode",
    "page_size",
    "page_count",
    "freelist_count",
    "encoding",
    "user_version",
    "schema_version",
    "application_id",
)

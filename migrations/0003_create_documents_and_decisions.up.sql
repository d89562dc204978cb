-- Documents a project refers to, how they depend on each other, and what review found.
CREATE TABLE document_references (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    uri         TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('spec', 'design', 'adr', 'api', 'note')),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (project_id, uri)
) STRICT;

CREATE TABLE document_dependencies (
    document_id    INTEGER NOT NULL REFERENCES document_references (id) ON DELETE CASCADE,
    depends_on_id  INTEGER NOT NULL REFERENCES document_references (id) ON DELETE CASCADE,
    PRIMARY KEY (document_id, depends_on_id),
    CHECK (document_id <> depends_on_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE inconsistencies (
    id           INTEGER PRIMARY KEY,
    document_id  INTEGER NOT NULL REFERENCES document_references (id) ON DELETE CASCADE,
    severity     TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    description  TEXT    NOT NULL,
    resolved     INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1)),
    found_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE recommendations (
    id                 INTEGER PRIMARY KEY,
    inconsistency_id   INTEGER REFERENCES inconsistencies (id) ON DELETE CASCADE,
    project_id         INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    text               TEXT    NOT NULL,
    priority           INTEGER NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    created_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE decisions (
    id                 INTEGER PRIMARY KEY,
    recommendation_id  INTEGER REFERENCES recommendations (id) ON DELETE SET NULL,
    project_id         INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    outcome            TEXT    NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'deferred')),
    rationale          TEXT,
    decided_by         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    decided_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE file_metadata (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    path         TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL CHECK (size_bytes >= 0),
    sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
    mime_type    TEXT,
    modified_at  TEXT    NOT NULL,
    UNIQUE (project_id, path)
) STRICT;

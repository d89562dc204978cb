-- Workspaces hold sessions; a session runs instances that exchange chat messages.
CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    root_path   TEXT    NOT NULL,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'paused', 'closed')),
    started_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at      TEXT,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
) STRICT;

CREATE TABLE instances (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    model       TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('planner', 'coder', 'reviewer', 'tester')),
    pid         INTEGER CHECK (pid IS NULL OR pid > 0),
    state       TEXT    NOT NULL DEFAULT 'idle'
                        CHECK (state IN ('idle', 'running', 'done', 'failed')),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE chat_messages (
    id           INTEGER PRIMARY KEY,
    instance_id  INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    sender       TEXT    NOT NULL CHECK (sender IN ('user', 'assistant', 'system', 'tool')),
    content      TEXT    NOT NULL,
    tokens       INTEGER NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    metadata     TEXT    CHECK (metadata IS NULL OR json_valid(metadata)),
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE VIEW session_summary AS
SELECT s.id            AS session_id,
       w.name          AS workspace,
       s.title         AS title,
       s.status        AS status,
       count(DISTINCT i.id) AS instances,
       count(m.id)     AS messages,
       coalesce(sum(m.tokens), 0) AS tokens,
       max(m.created_at) AS last_message_at
FROM sessions s
JOIN workspaces w ON w.id = s.workspace_id
LEFT JOIN instances i ON i.session_id = s.id
LEFT JOIN chat_messages m ON m.instance_id = i.id
GROUP BY s.id;

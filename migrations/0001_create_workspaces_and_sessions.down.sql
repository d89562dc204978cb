DROP VIEW session_summary;
DROP TABLE chat_messages;
DROP TABLE instances;
DROP TABLE sessions;
DROP TABLE workspaces;

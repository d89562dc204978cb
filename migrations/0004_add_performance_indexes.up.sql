-- Indexes for the foreign keys and the queries the app runs most.
CREATE INDEX idx_sessions_workspace ON sessions (workspace_id, started_at);
CREATE INDEX idx_instances_session ON instances (session_id);
CREATE INDEX idx_chat_messages_instance ON chat_messages (instance_id, created_at);
CREATE INDEX idx_projects_owner ON projects (owner_id);
CREATE INDEX idx_code_generations_project ON code_generations (project_id, created_at DESC);
CREATE INDEX idx_autosaves_project_file ON autosaves (project_id, file_path, saved_at DESC);
CREATE INDEX idx_project_analyses_project ON project_analyses (project_id, kind);
CREATE INDEX idx_inconsistencies_open ON inconsistencies (document_id) WHERE resolved = 0;
CREATE INDEX idx_recommendations_project ON recommendations (project_id, priority);
CREATE INDEX idx_decisions_project ON decisions (project_id, decided_at);

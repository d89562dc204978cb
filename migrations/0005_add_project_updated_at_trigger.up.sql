-- Keep projects.updated_at current; the trigger body's BEGIN ... END is one statement.
CREATE TRIGGER projects_touch_updated_at
AFTER UPDATE OF name, language, archived, workspace_id ON projects
FOR EACH ROW
WHEN new.updated_at = old.updated_at
BEGIN
    UPDATE projects
    SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = new.id;
END;

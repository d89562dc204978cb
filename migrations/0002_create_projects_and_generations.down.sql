DROP TABLE project_analyses;
DROP TABLE autosaves;
DROP TABLE code_generations;
DROP TABLE projects;
DROP TABLE users;

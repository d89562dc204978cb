DROP TABLE file_metadata;
DROP TABLE decisions;
DROP TABLE recommendations;
DROP TABLE inconsistencies;
DROP TABLE document_dependencies;
DROP TABLE document_references;

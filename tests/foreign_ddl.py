"""Other migration tools' tracking tables, created with each tool's own DDL.

Each statement is copied from the tool's source (named beside it), for SQLite and, where
it differs, for PostgreSQL; the rows are inserted as the tool inserts them. The tools
that can be installed here (dbmate, knex, Alembic, yoyo, Django) also create their real
tables in the tests that run them (`tool_runner`).
"""

from __future__ import annotations

SQLITE: dict[str, str] = {
    # alembic/runtime/migration.py: Table(version_table, Column("version_num",
    # String(32)), PrimaryKeyConstraint("version_num", name=f"{version_table}_pkc"))
    "alembic": """
        CREATE TABLE alembic_version (
            version_num VARCHAR(32) NOT NULL,
            CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
    """,
    # dbmate pkg/driver/sqlite/sqlite.go
    "dbmate": "create table if not exists schema_migrations (version varchar(128) primary key);",
    # Rails: schema_migration.rb / internal_metadata.rb, as db/structure.sql shows them
    "rails": """
        CREATE TABLE IF NOT EXISTS "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY,
            "value" varchar, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL);
    """,
    # golang-migrate database/sqlite3/sqlite3.go
    "golang-migrate": """
        CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);
        CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);
    """,
    # goose internal/dialects/sqlite3.go
    "goose": """
        CREATE TABLE goose_db_version (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            version_id INTEGER NOT NULL,
            is_applied INTEGER NOT NULL,
            tstamp TIMESTAMP DEFAULT (datetime('now')));
    """,
    # Flyway flyway-core .../database/sqlite/SQLiteDatabase.java getRawCreateScript
    "flyway": """
        CREATE TABLE "flyway_schema_history" (
            "installed_rank" INT NOT NULL PRIMARY KEY,
            "version" VARCHAR(50),
            "description" VARCHAR(200) NOT NULL,
            "type" VARCHAR(20) NOT NULL,
            "script" VARCHAR(1000) NOT NULL,
            "checksum" INT,
            "installed_by" VARCHAR(100) NOT NULL,
            "installed_on" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
            "execution_time" INT NOT NULL,
            "success" BOOLEAN NOT NULL);
        CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");
    """,
    # Django django/db/migrations/recorder.py (Migration model) on SQLite
    "django": """
        CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL,
            "applied" datetime NOT NULL);
    """,
    # Prisma schema-engine, SQLite connector's migrations table
    "prisma": """
        CREATE TABLE "_prisma_migrations" (
            "id" TEXT PRIMARY KEY NOT NULL,
            "checksum" TEXT NOT NULL,
            "finished_at" DATETIME,
            "migration_name" TEXT NOT NULL,
            "logs" TEXT,
            "rolled_back_at" DATETIME,
            "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
            "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0);
    """,
    # Diesel diesel/src/migration/setup_migration_table.sql
    "diesel": """
        CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
               version VARCHAR(50) PRIMARY KEY NOT NULL,
               run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
    """,
    # knex lib/migrations/migrate/table-creator.js, as knex's SQLite dialect writes it
    "knex": """
        create table `knex_migrations` (`id` integer not null primary key autoincrement,
            `name` varchar(255), `batch` integer, `migration_time` datetime);
        create table `knex_migrations_lock` (`index` integer not null primary key
            autoincrement, `is_locked` integer);
    """,
    # yoyo internalmigrations/v2.py and backends/base.py
    "yoyo": """
        CREATE TABLE "_yoyo_migration" ("migration_hash" VARCHAR(64),
            "migration_id" VARCHAR(255), "applied_at_utc" TIMESTAMP,
            PRIMARY KEY ("migration_hash"));
        CREATE TABLE "_yoyo_log" ("id" VARCHAR(36), "migration_hash" VARCHAR(64),
            "migration_id" VARCHAR(255), "operation" VARCHAR(10), "username" VARCHAR(255),
            "hostname" VARCHAR(255), "comment" VARCHAR(255), "created_at_utc" TIMESTAMP,
            PRIMARY KEY ("id"));
        CREATE TABLE "yoyo_lock" ("locked" INT DEFAULT 1, "ctime" TIMESTAMP,"pid" INT NOT NULL,
            PRIMARY KEY ("locked"));
    """,
    # EF Core: MigrationsInfrastructureSqliteTest.cs and SqliteHistoryRepository.cs
    "efcore": """
        CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
            "MigrationId" TEXT NOT NULL CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY,
            "ProductVersion" TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS "__EFMigrationsLock" (
            "Id" INTEGER NOT NULL CONSTRAINT "PK___EFMigrationsLock" PRIMARY KEY,
            "Timestamp" TEXT NOT NULL);
    """,
}

POSTGRES: dict[str, str] = {
    # golang-migrate database/postgres/postgres.go ensureVersionTable
    "golang-migrate": (
        'CREATE TABLE IF NOT EXISTS "public"."schema_migrations" '
        "(version bigint not null primary key, dirty boolean not null)"
    ),
    # Flyway flyway-database-postgresql PostgreSQLDatabase.java getRawCreateScript
    "flyway": """
        CREATE TABLE "public"."flyway_schema_history" (
            "installed_rank" INT NOT NULL,
            "version" VARCHAR(50),
            "description" VARCHAR(200) NOT NULL,
            "type" VARCHAR(20) NOT NULL,
            "script" VARCHAR(1000) NOT NULL,
            "checksum" INTEGER,
            "installed_by" VARCHAR(100) NOT NULL,
            "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
            "execution_time" INTEGER NOT NULL,
            "success" BOOLEAN NOT NULL);
        ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT
            "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
        CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
    """,
    # Prisma schema-engine, PostgreSQL connector's migrations table
    "prisma": """
        CREATE TABLE "_prisma_migrations" (
            "id" VARCHAR(36) PRIMARY KEY NOT NULL,
            "checksum" VARCHAR(64) NOT NULL,
            "finished_at" TIMESTAMPTZ,
            "migration_name" VARCHAR(255) NOT NULL,
            "logs" TEXT,
            "rolled_back_at" TIMESTAMPTZ,
            "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
            "applied_steps_count" INTEGER NOT NULL DEFAULT 0);
    """,
    # goose internal/dialects/postgres.go
    "goose": """
        CREATE TABLE goose_db_version (
            id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
            version_id bigint NOT NULL,
            is_applied boolean NOT NULL,
            tstamp timestamp NOT NULL DEFAULT now());
    """,
    # EF Core HistoryRepository.cs as Npgsql writes it
    "efcore": """
        CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
            "MigrationId" character varying(150) NOT NULL,
            "ProductVersion" character varying(32) NOT NULL,
            CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY ("MigrationId"));
    """,
    # Diesel setup_migration_table.sql
    "diesel": SQLITE["diesel"],
    # Rails: structure.sql on PostgreSQL
    "rails": """
        CREATE TABLE public.schema_migrations (version character varying NOT NULL PRIMARY KEY);
        CREATE TABLE public.ar_internal_metadata (key character varying NOT NULL PRIMARY KEY,
            value character varying, created_at timestamp(6) without time zone NOT NULL,
            updated_at timestamp(6) without time zone NOT NULL);
    """,
    # dbmate pkg/driver/postgres/postgres.go
    "dbmate": "create table if not exists public.schema_migrations (version varchar primary key)",
}

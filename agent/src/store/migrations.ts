// Versioned schema migrations. Each runs in its own transaction and records itself in
// schema_migrations; never edit a released migration, add a new one.
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events and profiles',
    sql: `
      CREATE TABLE events (
        id                  TEXT PRIMARY KEY NOT NULL,
        type                TEXT NOT NULL,
        host                TEXT NOT NULL,
        time                INTEGER NOT NULL,
        time_end            INTEGER NOT NULL,
        status              TEXT NOT NULL CHECK (status IN ('capturing', 'complete', 'partial', 'failed')),
        error               TEXT,
        summary             TEXT NOT NULL,
        container_id        TEXT,
        container_name      TEXT,
        container_runtime   TEXT,
        container_pod       TEXT,
        container_namespace TEXT,
        container_qos       TEXT,
        container_cgroup    TEXT,
        trigger_json        TEXT NOT NULL,
        data_json           TEXT NOT NULL,
        updated_at          INTEGER NOT NULL
      );
      -- newest-first listing and keyset pages; also covers counts by type/container over a time range
      CREATE INDEX events_time ON events (time, id, type, container_id);
      CREATE INDEX events_type_time ON events (type, time, id);
      CREATE INDEX events_container_time ON events (container_id, time, id, type);
      -- a container filter by name or pod is first resolved to container ids
      CREATE INDEX events_container_name ON events (container_name, container_id) WHERE container_name IS NOT NULL;
      CREATE INDEX events_container_pod ON events (container_pod, container_id) WHERE container_pod IS NOT NULL;
      CREATE INDEX events_host ON events (host, time, id);
      CREATE INDEX events_capturing ON events (id) WHERE status = 'capturing';
      -- stats(): rows per status without scanning the table (complete = all − the others)
      CREATE INDEX events_not_complete ON events (status) WHERE status != 'complete';

      CREATE TABLE profiles (
        event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        title      TEXT NOT NULL,
        unit       TEXT NOT NULL,
        total      REAL NOT NULL,
        stacks     INTEGER NOT NULL,
        codec      TEXT NOT NULL CHECK (codec IN ('br', 'deflate', 'none')),
        raw_bytes  INTEGER NOT NULL,
        blob       BLOB NOT NULL,
        UNIQUE (event_id, name)
      );
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

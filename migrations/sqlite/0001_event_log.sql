-- The event log is the source of truth; every other table is a projection
-- of it (tickets, calls, queues) or outside the domain (tokens).
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    recorded_at INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL
);

-- One row holding the last sequence number handed out. Writers take it
-- inside their transaction, so numbers are gap-free and commit in order
-- even with several writer processes.
CREATE TABLE event_counter (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
INSERT INTO event_counter (id, last_seq) VALUES (1, 0);

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    external_id   TEXT UNIQUE,
    opened_at     INTEGER NOT NULL,
    site          TEXT    NOT NULL,
    department    TEXT    NOT NULL,
    application   TEXT    NOT NULL,
    category      TEXT    NOT NULL,
    severity      INTEGER NOT NULL,
    channel       TEXT    NOT NULL,
    summary       TEXT,
    reporter_role TEXT,
    status        TEXT    NOT NULL,
    resolved_at   INTEGER,
    assignee      TEXT,
    tier          INTEGER,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX tickets_by_status ON tickets (status, id);

CREATE TABLE calls (
    call_id      TEXT PRIMARY KEY,
    queue        TEXT NOT NULL,
    offered_at   INTEGER,
    answered_at  INTEGER,
    abandoned_at INTEGER,
    ended_at     INTEGER,
    agent        TEXT,
    wrap_seconds REAL
);

CREATE TABLE queues (
    name                  TEXT PRIMARY KEY,
    answer_target_seconds REAL    NOT NULL,
    service_level_target  REAL    NOT NULL,
    max_occupancy         REAL    NOT NULL,
    shrinkage             REAL    NOT NULL,
    agents_staffed        INTEGER NOT NULL
);

-- Bearer tokens, stored as SHA-256 of the token (tokens are 256-bit random
-- strings, so a fast hash is enough; the plain token is shown once).
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

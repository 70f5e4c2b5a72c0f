-- The event log is the source of truth; every other table is a projection
-- of it (tickets, calls, queues) or outside the domain (tokens).
CREATE TABLE events (
    seq         BIGINT PRIMARY KEY,
    recorded_at BIGINT NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL
);

-- One row holding the last sequence number handed out. Writers take it
-- inside their transaction, so numbers are gap-free and commit in order
-- even with several writer processes.
CREATE TABLE event_counter (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL
);
INSERT INTO event_counter (id, last_seq) VALUES (1, 0);

CREATE TABLE tickets (
    id            BIGINT PRIMARY KEY,
    external_id   TEXT UNIQUE,
    opened_at     BIGINT NOT NULL,
    site          TEXT    NOT NULL,
    department    TEXT    NOT NULL,
    application   TEXT    NOT NULL,
    category      TEXT    NOT NULL,
    severity      BIGINT NOT NULL,
    channel       TEXT    NOT NULL,
    summary       TEXT,
    reporter_role TEXT,
    status        TEXT    NOT NULL,
    resolved_at   BIGINT,
    assignee      TEXT,
    tier          BIGINT,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX tickets_by_status ON tickets (status, id);

CREATE TABLE calls (
    call_id      TEXT PRIMARY KEY,
    queue        TEXT NOT NULL,
    offered_at   BIGINT,
    answered_at  BIGINT,
    abandoned_at BIGINT,
    ended_at     BIGINT,
    agent        TEXT,
    wrap_seconds DOUBLE PRECISION
);

CREATE TABLE queues (
    name                  TEXT PRIMARY KEY,
    answer_target_seconds DOUBLE PRECISION    NOT NULL,
    service_level_target  DOUBLE PRECISION    NOT NULL,
    max_occupancy         DOUBLE PRECISION    NOT NULL,
    shrinkage             DOUBLE PRECISION    NOT NULL,
    agents_staffed        BIGINT NOT NULL
);

-- Bearer tokens, stored as SHA-256 of the token (tokens are 256-bit random
-- strings, so a fast hash is enough; the plain token is shown once).
CREATE TABLE tokens (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

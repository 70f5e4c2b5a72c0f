-- A call offered to a second queue (a transfer) is a second leg: the calls
-- projection gets one row per (call_id, queue). SQLite cannot change a
-- primary key in place, so the table is rebuilt. Rows written before keep
-- the queue they were stored under (the queue of the call's offered
-- event); the event log, which is the source of truth, is unchanged.
CREATE TABLE call_legs (
    call_id      TEXT NOT NULL,
    queue        TEXT NOT NULL,
    offered_at   INTEGER,
    answered_at  INTEGER,
    abandoned_at INTEGER,
    ended_at     INTEGER,
    agent        TEXT,
    wrap_seconds REAL,
    PRIMARY KEY (call_id, queue)
);
INSERT INTO call_legs (call_id, queue, offered_at, answered_at, abandoned_at, ended_at, agent, wrap_seconds)
    SELECT call_id, queue, offered_at, answered_at, abandoned_at, ended_at, agent, wrap_seconds FROM calls;
DROP TABLE calls;
ALTER TABLE call_legs RENAME TO calls;

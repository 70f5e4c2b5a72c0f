-- Checkpoints of the in-memory state (the ledger, the aggregator and the
-- rest of the read side) at a position of the event log, so that a
-- restart replays only the events after it. Never trusted over the log: a
-- reader checks `format` (what wrote it) and that the log still holds
-- the event at `seq`, and replays the whole log otherwise. Any process
-- on the same log may read another's. Only the newest two are kept.
CREATE TABLE checkpoints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    seq        INTEGER NOT NULL,
    format     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    body       BLOB    NOT NULL
);

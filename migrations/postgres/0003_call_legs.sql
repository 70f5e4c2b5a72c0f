-- A call offered to a second queue (a transfer) is a second leg: the calls
-- projection gets one row per (call_id, queue). Rows written before keep
-- the queue they were stored under (the queue of the call's offered
-- event); the event log, which is the source of truth, is unchanged.
ALTER TABLE calls DROP CONSTRAINT calls_pkey;
ALTER TABLE calls ADD PRIMARY KEY (call_id, queue);

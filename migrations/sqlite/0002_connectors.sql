-- Where each polling connector stands (the ServiceNow pull's cursor), so a
-- restart resumes instead of starting over. Outside the event log: a lost
-- cursor only means records are read again, and records already applied
-- change nothing.
CREATE TABLE connector_state (
    name       TEXT    PRIMARY KEY,
    cursor     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

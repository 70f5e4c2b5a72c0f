//! golive-core: the pure domain of golive.
//!
//! Everything here is deterministic and free of I/O: the vocabulary of a
//! go-live (tickets, calls, queues), validation of what clients send, the
//! events that make up the log, the ledger that decides whether a command is
//! allowed, the aggregator that turns events into command-center figures and
//! the staffing mathematics. Storage, HTTP and the binary wrap this crate.

pub mod aggregate;
pub mod alerts;
pub mod ate_model;
pub mod board;
pub mod checkpoint;
pub mod csv;
pub mod erlang;
pub mod erlang_a;
pub mod erlang_a_line;
pub mod event;
pub mod forecast;
pub mod huddle;
pub mod input;
pub mod ledger;
pub mod model;
pub mod names;
pub mod patience;
pub mod plan;
pub mod profile;
pub mod record;
pub mod shifts;
pub mod staffing;
#[cfg(test)]
mod test_curves;
pub mod time;
pub mod waves;

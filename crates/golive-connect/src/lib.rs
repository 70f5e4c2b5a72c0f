//! golive-connect: the mapping layer every connector shares. Pure (no I/O,
//! no async): it turns records in a source's own format into golive
//! commands, or into a per-record [`RecordError`] that names the source
//! field and the value, never a crash and never a silent default.
//!
//! - [`config`]: the `[connectors]` configuration (field sources, value
//!   maps, defaults, time zone, ServiceNow pull settings).
//! - [`mapping::TicketMapper`]: a ticket record → [`TicketSync`] (the
//!   ledger's "current state of a ticket" command).
//! - [`queues::QueueResolver`]: a source's queue name or ARN → a golive
//!   queue, with `[names.queue]` and an unknown-queue policy.
//! - [`time`]: source times (offsets without a colon, zone-less times in a
//!   configured zone) and the future-skew check.
//! - [`source`]: reading fields by dot-walked path from JSON objects and
//!   CSV rows; [`csv`]: a streaming CSV reader with bounded memory.
//! - [`amazon_connect`], [`asterisk`]: phone systems' contact events,
//!   contact trace records and queue_log lines → call events (and, from
//!   the queue_log, each queue's staffed agents).
//! - [`servicenow`], [`jira`]: those sources' defaults and body shapes;
//!   [`flat`]: ServiceNow records parsed borrowing from the body.
//!
//! Names themselves (case and whitespace folding, canonical names,
//! aliases) are golive-core's ([`golive_core::names`]): the ledger applies
//! them to every command, whichever path it came by.
//!
//! [`TicketSync`]: golive_core::input::TicketSync

pub mod amazon_connect;
pub mod asterisk;
pub mod config;
pub mod csv;
pub mod error;
pub mod flat;
pub mod jira;
pub mod light;
pub mod mapping;
pub mod queues;
pub mod servicenow;
pub mod source;
pub mod time;

pub use config::{ConnectorsConfig, TicketField};
pub use error::RecordError;
pub use mapping::TicketMapper;
pub use queues::{QueueMapConfig, QueueResolver, UnknownQueues};
pub use source::{CsvRecord, JsonRecord, Record, SourceValue};
pub use time::{SourceTimeZone, checked_time, parse_source_time};

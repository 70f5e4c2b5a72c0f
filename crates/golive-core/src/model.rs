//! The vocabulary of a go-live: ticket categories, severities, channels,
//! statuses, call events and queue settings, exactly as the API spells them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares a fieldless enum whose wire name (JSON, `as_str`, `parse`,
/// `Display`) is written once per variant, so the spellings cannot drift
/// apart; `ALL` lists the variants in declaration order.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($variant:ident = $wire:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            pub const ALL: [$name; [$($wire),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// What kind of problem a ticket is about.
    #[derive(PartialOrd, Ord)]
    pub enum Category {
        HowTo = "how_to",
        BreakFix = "break_fix",
        Access = "access",
        Hardware = "hardware",
        Workflow = "workflow",
        Data = "data",
        Interface = "interface",
        Other = "other",
    }
}

wire_enum! {
    /// How a ticket reached the help desk.
    #[derive(PartialOrd, Ord)]
    pub enum Channel {
        Phone = "phone",
        Ate = "ate",
        WalkIn = "walk_in",
        Chat = "chat",
        Email = "email",
        Portal = "portal",
    }
}

/// Ticket severity: 1 is critical / patient safety, 4 is lowest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Severity(u8);

impl Severity {
    pub const ALL: [Severity; 4] = [Severity(1), Severity(2), Severity(3), Severity(4)];

    pub fn new(level: u8) -> Option<Self> {
        (1..=4).contains(&level).then_some(Severity(level))
    }

    pub fn level(self) -> u8 {
        self.0
    }

    pub fn as_str(self) -> &'static str {
        ["1", "2", "3", "4"][usize::from(self.0 - 1)]
    }
}

impl TryFrom<u8> for Severity {
    type Error = String;
    fn try_from(level: u8) -> Result<Self, String> {
        Severity::new(level).ok_or_else(|| format!("severity must be 1..4, got {level}"))
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

wire_enum! {
    /// Where a ticket stands. `resolved` and `closed` are done; the rest active.
    #[derive(PartialOrd, Ord)]
    pub enum TicketStatus {
        Open = "open",
        InProgress = "in_progress",
        Pending = "pending",
        Escalated = "escalated",
        Resolved = "resolved",
        Closed = "closed",
    }
}

impl TicketStatus {
    pub fn is_active(self) -> bool {
        !self.is_done()
    }

    pub fn is_done(self) -> bool {
        matches!(self, TicketStatus::Resolved | TicketStatus::Closed)
    }
}

wire_enum! {
    /// One step in a phone call's life as the ACD reports it.
    #[derive(PartialOrd, Ord)]
    pub enum CallEventKind {
        Offered = "offered",
        Answered = "answered",
        Abandoned = "abandoned",
        Ended = "ended",
    }
}

/// The staffing targets of one phone queue.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueSettings {
    pub answer_target_seconds: f64,
    pub service_level_target: f64,
    pub max_occupancy: f64,
    pub shrinkage: f64,
    pub agents_staffed: u32,
}

impl Default for QueueSettings {
    /// The contract's defaults for a queue nobody configured.
    fn default() -> Self {
        QueueSettings {
            answer_target_seconds: 20.0,
            service_level_target: 0.8,
            max_occupancy: 0.85,
            shrinkage: 0.0,
            agents_staffed: 0,
        }
    }
}

wire_enum! {
    /// Which dimension a report groups tickets by.
    pub enum TicketDimension {
        Site = "site",
        Department = "department",
        Application = "application",
        Category = "category",
        Severity = "severity",
        Channel = "channel",
    }
}

wire_enum! {
    /// Where a known issue stands: still hurting, or fixed (or worked around).
    pub enum KnownIssueStatus {
        Open = "open",
        Resolved = "resolved",
    }
}

wire_enum! {
    /// Who a bearer token speaks for. Each role includes what the API grants it;
    /// `admin` may do everything.
    pub enum Role {
        Admin = "admin",
        Lead = "lead",
        Agent = "agent",
        Integration = "integration",
        Display = "display",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant's name goes through `as_str`, `parse`, `Display` and
    /// JSON both ways unchanged.
    fn round_trip<T>(all: &[T], parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + Serialize + serde::de::DeserializeOwned,
    {
        for value in all {
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{value}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *value);
            assert_eq!(parse(&value.to_string()), Some(*value));
        }
    }

    #[test]
    fn enums_round_trip_through_their_wire_names() {
        round_trip(&Category::ALL, Category::parse);
        round_trip(&Channel::ALL, Channel::parse);
        round_trip(&TicketStatus::ALL, TicketStatus::parse);
        round_trip(&CallEventKind::ALL, CallEventKind::parse);
        round_trip(&TicketDimension::ALL, TicketDimension::parse);
        round_trip(&KnownIssueStatus::ALL, KnownIssueStatus::parse);
        round_trip(&Role::ALL, Role::parse);
        assert_eq!(Category::parse("How_To"), None, "exact spelling only");
        assert_eq!(TicketStatus::InProgress.as_str(), "in_progress");
        assert_eq!(Channel::WalkIn.to_string(), "walk_in");
    }

    #[test]
    fn severity_is_one_to_four() {
        assert!(Severity::new(0).is_none());
        assert!(Severity::new(5).is_none());
        assert_eq!(Severity::new(1).map(Severity::level), Some(1));
        assert!(serde_json::from_str::<Severity>("5").is_err());
        assert_eq!(Severity::new(4).unwrap().as_str(), "4");
    }

    #[test]
    fn done_statuses() {
        assert!(TicketStatus::Resolved.is_done());
        assert!(TicketStatus::Closed.is_done());
        assert!(TicketStatus::Escalated.is_active());
    }
}

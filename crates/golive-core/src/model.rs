//! The vocabulary of a go-live: ticket categories, severities, channels,
//! statuses, call events and queue settings, exactly as the API spells them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of problem a ticket is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    HowTo,
    BreakFix,
    Access,
    Hardware,
    Workflow,
    Data,
    Interface,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::HowTo,
        Category::BreakFix,
        Category::Access,
        Category::Hardware,
        Category::Workflow,
        Category::Data,
        Category::Interface,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::HowTo => "how_to",
            Category::BreakFix => "break_fix",
            Category::Access => "access",
            Category::Hardware => "hardware",
            Category::Workflow => "workflow",
            Category::Data => "data",
            Category::Interface => "interface",
            Category::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// How a ticket reached the help desk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Ate,
    WalkIn,
    Chat,
    Email,
    Portal,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Phone,
        Channel::Ate,
        Channel::WalkIn,
        Channel::Chat,
        Channel::Email,
        Channel::Portal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Ate => "ate",
            Channel::WalkIn => "walk_in",
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Portal => "portal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
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

/// Where a ticket stands. `resolved` and `closed` are done; the rest active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    Pending,
    Escalated,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 6] = [
        TicketStatus::Open,
        TicketStatus::InProgress,
        TicketStatus::Pending,
        TicketStatus::Escalated,
        TicketStatus::Resolved,
        TicketStatus::Closed,
    ];

    pub fn is_active(self) -> bool {
        !self.is_done()
    }

    pub fn is_done(self) -> bool {
        matches!(self, TicketStatus::Resolved | TicketStatus::Closed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::Pending => "pending",
            TicketStatus::Escalated => "escalated",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step in a phone call's life as the ACD reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEventKind {
    Offered,
    Answered,
    Abandoned,
    Ended,
}

impl CallEventKind {
    pub const ALL: [CallEventKind; 4] = [
        CallEventKind::Offered,
        CallEventKind::Answered,
        CallEventKind::Abandoned,
        CallEventKind::Ended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallEventKind::Offered => "offered",
            CallEventKind::Answered => "answered",
            CallEventKind::Abandoned => "abandoned",
            CallEventKind::Ended => "ended",
        }
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

/// Which dimension a report groups tickets by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketDimension {
    Site,
    Department,
    Application,
    Category,
    Severity,
    Channel,
}

impl TicketDimension {
    pub const ALL: [TicketDimension; 6] = [
        TicketDimension::Site,
        TicketDimension::Department,
        TicketDimension::Application,
        TicketDimension::Category,
        TicketDimension::Severity,
        TicketDimension::Channel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketDimension::Site => "site",
            TicketDimension::Department => "department",
            TicketDimension::Application => "application",
            TicketDimension::Category => "category",
            TicketDimension::Severity => "severity",
            TicketDimension::Channel => "channel",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// Where a known issue stands: still hurting, or fixed (or worked around).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnownIssueStatus {
    Open,
    Resolved,
}

impl KnownIssueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KnownIssueStatus::Open => "open",
            KnownIssueStatus::Resolved => "resolved",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_wire_names() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for d in TicketDimension::ALL {
            assert_eq!(TicketDimension::parse(d.as_str()), Some(d));
        }
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

/// Who a bearer token speaks for. Each role includes what the API grants it;
/// `admin` may do everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Lead,
    Agent,
    Integration,
    Display,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Lead,
        Role::Agent,
        Role::Integration,
        Role::Display,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Lead => "lead",
            Role::Agent => "agent",
            Role::Integration => "integration",
            Role::Display => "display",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! The `[connectors]` section of the configuration file: per connector,
//! which source field feeds each golive field, value maps, fixed defaults
//! and the source's time zone, plus the ServiceNow pull settings. Nothing
//! configured means the defaults of the API's connector reference (see
//! docs/integrations.md), which are in `servicenow.rs` and `jira.rs`.

use crate::time::SourceTimeZone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A golive ticket field a connector fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketField {
    /// The record's identity in the source (ServiceNow: `sys_id`, else
    /// `number`; Jira: the issue `id`, else its `key`).
    Key,
    ExternalId,
    OpenedAt,
    ResolvedAt,
    /// The source's last update of the record.
    UpdatedAt,
    Status,
    Severity,
    Channel,
    Category,
    Site,
    Department,
    Application,
    /// The known issue a record is linked to: no source by default; with
    /// `fields.known_issue` (e.g. ServiceNow's `problem_id` or
    /// `parent_incident`) and `values.known_issue` mapping those values to
    /// known issue ids, a record whose value is mapped is linked.
    KnownIssue,
}

impl TicketField {
    pub const ALL: [TicketField; 13] = [
        TicketField::Key,
        TicketField::ExternalId,
        TicketField::OpenedAt,
        TicketField::ResolvedAt,
        TicketField::UpdatedAt,
        TicketField::Status,
        TicketField::Severity,
        TicketField::Channel,
        TicketField::Category,
        TicketField::Site,
        TicketField::Department,
        TicketField::Application,
        TicketField::KnownIssue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketField::Key => "key",
            TicketField::ExternalId => "external_id",
            TicketField::OpenedAt => "opened_at",
            TicketField::ResolvedAt => "resolved_at",
            TicketField::UpdatedAt => "updated_at",
            TicketField::Status => "status",
            TicketField::Severity => "severity",
            TicketField::Channel => "channel",
            TicketField::Category => "category",
            TicketField::Site => "site",
            TicketField::Department => "department",
            TicketField::Application => "application",
            TicketField::KnownIssue => "known_issue",
        }
    }
}

/// A field's sources: one dot-walked path, or several tried in order
/// (the first with a value wins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Sources {
    One(String),
    Many(Vec<String>),
}

impl Sources {
    pub fn paths(&self) -> Vec<String> {
        match self {
            Sources::One(path) => vec![path.clone()],
            Sources::Many(paths) => paths.clone(),
        }
    }
}

/// Source value (a code or a label; compared ignoring case and
/// whitespace) → golive value. The key `"*"` catches every other value.
pub type ValueMap = BTreeMap<String, String>;

/// How one source's records map onto tickets. Every table is merged over
/// the connector's defaults: a configured field replaces that field's
/// sources, a configured value entry adds to (or replaces one of) the
/// default entries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketMappingConfig {
    /// Zone of times written without an offset (IANA name; default UTC).
    pub time_zone: SourceTimeZone,
    /// golive field → source field path(s).
    pub fields: BTreeMap<TicketField, Sources>,
    /// golive field → value map.
    pub values: BTreeMap<TicketField, ValueMap>,
    /// golive field → the value to use when the record has none (a
    /// configured default is never silent: it is written here).
    pub defaults: BTreeMap<TicketField, String>,
}

/// `[connectors.servicenow]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceNowConfig {
    pub time_zone: SourceTimeZone,
    pub fields: BTreeMap<TicketField, Sources>,
    pub values: BTreeMap<TicketField, ValueMap>,
    pub defaults: BTreeMap<TicketField, String>,
    /// Largest CSV export accepted in one request (bytes; the body is
    /// streamed, so this bounds time, not memory). Default 256 MiB.
    pub max_csv_bytes: Option<usize>,
    /// Poll an instance's Table API (`[connectors.servicenow.pull]`).
    pub pull: Option<ServiceNowPullConfig>,
}

impl ServiceNowConfig {
    pub fn mapping(&self) -> TicketMappingConfig {
        TicketMappingConfig {
            time_zone: self.time_zone,
            fields: self.fields.clone(),
            values: self.values.clone(),
            defaults: self.defaults.clone(),
        }
    }
}

/// `[connectors.jira]`: a mapping and nothing else.
pub type JiraConfig = TicketMappingConfig;

/// `[connectors.servicenow.pull]`: where and how often to poll.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNowPullConfig {
    /// `https://INSTANCE.service-now.com` (no path).
    pub instance_url: String,
    /// The table polled (default `incident`).
    #[serde(default = "default_table")]
    pub table: String,
    /// How to authenticate; credentials come from the environment or a
    /// file, never from this file.
    pub auth: PullAuth,
    /// Seconds between polls once caught up (default 30).
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    /// Records per page (`sysparm_limit`, default 500).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// How far before the cursor each poll starts again (seconds, default
    /// 60), so a record committed late in ServiceNow with an earlier
    /// `sys_updated_on` is not missed; what was already seen is skipped.
    #[serde(default = "default_overlap")]
    pub overlap_seconds: u64,
    /// Where the first poll starts (`YYYY-MM-DD HH:MM:SS`, UTC) when no
    /// cursor is stored yet; default: 24 hours before the first poll.
    pub start: Option<String>,
    /// An extra encoded query ANDed to the cursor (e.g.
    /// `assignment_group.name=Go-Live Command Center`).
    pub query: Option<String>,
    /// Seconds one request may take (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

/// Credentials for the pull: HTTP basic auth of an integration user, or
/// an OAuth bearer token. Each secret is read from an environment
/// variable or a file (trailing newline trimmed) at start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PullAuth {
    Basic {
        username: String,
        password_env: Option<String>,
        password_file: Option<PathBuf>,
    },
    Bearer {
        token_env: Option<String>,
        token_file: Option<PathBuf>,
    },
}

fn default_table() -> String {
    "incident".into()
}
fn default_interval() -> u64 {
    30
}
fn default_page_size() -> u32 {
    500
}
fn default_overlap() -> u64 {
    60
}
fn default_timeout() -> u64 {
    30
}

/// `[connectors]`: one section per connector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectorsConfig {
    pub servicenow: ServiceNowConfig,
    pub jira: JiraConfig,
    pub amazon_connect: crate::amazon_connect::AmazonConnectConfig,
    pub asterisk: crate::asterisk::AsteriskConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servicenow_section_reads_from_toml() {
        let text = r#"
            time_zone = "America/Chicago"
            [fields]
            application = ["cmdb_ci", "u_application"]
            department = "caller_id.department"
            [values.site]
            "MC" = "Main Campus"
            [defaults]
            department = "Unknown"
            [pull]
            instance_url = "https://example.service-now.com"
            auth = { kind = "basic", username = "golive.integration", password_env = "SN_PASSWORD" }
        "#;
        let config: ServiceNowConfig = toml::from_str(text).unwrap();
        assert_eq!(config.time_zone.0.name(), "America/Chicago");
        assert_eq!(
            config.fields[&TicketField::Application].paths(),
            ["cmdb_ci", "u_application"]
        );
        let pull = config.pull.unwrap();
        assert_eq!((pull.table.as_str(), pull.page_size), ("incident", 500));
        assert!(matches!(pull.auth, PullAuth::Basic { .. }));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let typo = serde_json::json!({"fields": {"aplication": "cmdb_ci"}});
        assert!(serde_json::from_value::<ServiceNowConfig>(typo).is_err());
        let typo = serde_json::json!({"time_zon": "UTC"});
        assert!(serde_json::from_value::<JiraConfig>(typo).is_err());
    }
}

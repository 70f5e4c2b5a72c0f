//! Jira Service Management webhooks (`jira:issue_created`,
//! `jira:issue_updated`): the issue is the ticket's current state. The
//! default mapping is the API's connector reference; site and department
//! have no Jira field of their own and come from configuration (a custom
//! field, components or labels through a value map, or a default).

use crate::config::TicketField;
use crate::error::RecordError;
use crate::mapping::Defaults;
use crate::source::{JsonRecord, Record, SourceValue};
use serde_json::{Map, Value};

/// The default mapping. Paths are read in the issue's `fields`, then in
/// the issue itself (`key`, `id`).
pub const DEFAULTS: Defaults = Defaults {
    source: "jira",
    fields: &[
        (TicketField::Key, &["id", "key"]),
        (TicketField::ExternalId, &["key"]),
        (TicketField::OpenedAt, &["created"]),
        (TicketField::ResolvedAt, &["resolutiondate"]),
        (TicketField::UpdatedAt, &["updated"]),
        (TicketField::Status, &["status.statusCategory.key"]),
        (TicketField::Severity, &["priority"]),
        (TicketField::Application, &["components"]),
    ],
    values: &[
        (
            TicketField::Status,
            &[
                ("new", "open"),
                ("indeterminate", "in_progress"),
                ("done", "resolved"),
            ],
        ),
        (
            TicketField::Severity,
            &[
                ("Highest", "1"),
                ("High", "2"),
                ("Medium", "3"),
                ("Low", "4"),
                ("Lowest", "4"),
            ],
        ),
    ],
    defaults: &[
        (TicketField::Channel, "portal"),
        (TicketField::Category, "other"),
    ],
};

/// The webhook events that carry an issue's state.
const ISSUE_EVENTS: [&str; 2] = ["jira:issue_created", "jira:issue_updated"];

/// The issue of a webhook body; `Ok(None)` for other events (deleted
/// issues, comments, …), which change nothing.
pub fn issue(body: Value) -> Result<Option<Map<String, Value>>, RecordError> {
    let Value::Object(mut body) = body else {
        return Err(RecordError::malformed(
            "a Jira webhook body is a JSON object",
        ));
    };
    let event = match body.get("webhookEvent") {
        Some(Value::String(event)) => event.clone(),
        _ => {
            return Err(RecordError::missing(
                "webhookEvent",
                "the body has no webhookEvent: is this a Jira webhook?",
            ));
        }
    };
    if !ISSUE_EVENTS.contains(&event.as_str()) {
        return Ok(None);
    }
    match body.remove("issue") {
        Some(Value::Object(issue)) => Ok(Some(issue)),
        _ => Err(RecordError::missing(
            "issue",
            "the webhook has no issue object",
        )),
    }
}

/// An issue as a record: `fields.…` first, then the issue's own keys.
#[derive(Clone, Copy, Debug)]
pub struct IssueRecord<'a>(pub &'a Map<String, Value>);

impl Record for IssueRecord<'_> {
    fn values(&self, path: &str) -> Vec<SourceValue> {
        if let Some(Value::Object(fields)) = self.0.get("fields") {
            let found = JsonRecord(fields).values(path);
            if !found.is_empty() {
                return found;
            }
        }
        JsonRecord(self.0).values(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TicketMappingConfig;
    use crate::mapping::TicketMapper;
    use golive_core::model::{Category, Channel, TicketStatus};
    use golive_core::time::parse_rfc3339;
    use serde_json::json;

    #[test]
    fn webhook_issue_maps_with_offsets_without_colon() {
        let body = json!({
            "timestamp": 1772436000000u64,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "issue": {
                "id": "10002", "key": "HD-12",
                "fields": {
                    "created": "2026-03-02T12:44:05.000+0530",
                    "updated": "2026-03-02T13:30:00.000+0530",
                    "resolutiondate": "2026-03-02T13:29:00.000+0530",
                    "status": {"name": "Done", "statusCategory": {"key": "done", "name": "Done"}},
                    "priority": {"name": "Highest", "id": "1"},
                    "components": [{"name": "Epic Orders"}],
                    "labels": ["north-clinic"],
                    "customfield_10050": {"value": "Emergency"}
                }
            }
        });
        let issue = issue(body).unwrap().unwrap();
        let config: TicketMappingConfig = serde_json::from_value(json!({
            "fields": {"site": "labels", "department": "customfield_10050"},
            "values": {"site": {"north-clinic": "North Clinic"}}
        }))
        .unwrap();
        let mapper = TicketMapper::new(&DEFAULTS, &config).unwrap();
        let now =
            golive_core::input::Clock::new(parse_rfc3339("2026-03-02T12:00:00Z").unwrap(), 300_000);
        let sync = mapper.map(&IssueRecord(&issue), now).unwrap();
        assert_eq!(sync.source_key, "jira:10002");
        assert_eq!(sync.external_id.as_deref(), Some("HD-12"));
        assert_eq!(
            sync.opened_at,
            Ok(parse_rfc3339("2026-03-02T07:14:05Z").unwrap())
        );
        assert_eq!(sync.resolved_at, parse_rfc3339("2026-03-02T07:59:00Z"));
        assert_eq!(sync.status, Ok(TicketStatus::Resolved));
        assert_eq!(sync.severity.map(|s| s.level()), Ok(1));
        assert_eq!(sync.application.as_deref(), Ok("Epic Orders"));
        assert_eq!(sync.site.as_deref(), Ok("North Clinic"));
        assert_eq!(sync.department.as_deref(), Ok("Emergency"));
        assert_eq!(
            (sync.channel, sync.category),
            (Ok(Channel::Portal), Ok(Category::Other))
        );
    }

    #[test]
    fn other_events_are_ignored_and_junk_refused() {
        assert_eq!(
            issue(json!({"webhookEvent": "comment_created"})).unwrap(),
            None
        );
        assert!(issue(json!({"issue": {}})).is_err());
        assert!(issue(json!([1])).is_err());
        assert!(issue(json!({"webhookEvent": "jira:issue_created"})).is_err());
    }

    #[test]
    fn site_without_configuration_is_a_named_refusal_on_create() {
        let mapper = TicketMapper::new(&DEFAULTS, &TicketMappingConfig::default()).unwrap();
        let issue = json!({"id": "1", "key": "HD-1", "fields": {"updated": "2026-03-02T07:00:00.000+0000"}});
        let sync = mapper
            .map(
                &IssueRecord(issue.as_object().unwrap()),
                golive_core::input::Clock::new(
                    parse_rfc3339("2026-03-02T08:00:00Z").unwrap(),
                    300_000,
                ),
            )
            .unwrap();
        let why = sync.site.unwrap_err();
        assert!(why.message.contains("fields.site"), "{}", why.message);
    }
}

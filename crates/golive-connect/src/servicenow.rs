//! ServiceNow incidents: the default mapping (the API's connector
//! reference, binding when nothing is configured) and the shapes the Table
//! API and Business Rules send them in.

use crate::config::TicketField;
pub use crate::flat::{FlatRecord, parse_records};
use crate::mapping::Defaults;

/// The default mapping. Choice maps hold both the codes the Table API
/// stores and the labels an out-of-the-box instance shows (what a list
/// export and `sysparm_display_value` carry).
pub const DEFAULTS: Defaults = Defaults {
    source: "servicenow",
    fields: &[
        (TicketField::Key, &["sys_id", "number"]),
        (TicketField::ExternalId, &["number"]),
        (TicketField::OpenedAt, &["opened_at"]),
        (TicketField::ResolvedAt, &["resolved_at", "closed_at"]),
        (TicketField::UpdatedAt, &["sys_updated_on"]),
        (TicketField::Status, &["state"]),
        (TicketField::Severity, &["priority"]),
        (TicketField::Channel, &["contact_type"]),
        (TicketField::Category, &["category"]),
        (TicketField::Site, &["location"]),
        (TicketField::Application, &["cmdb_ci", "business_service"]),
        (
            TicketField::Department,
            &["u_department", "caller_id.department"],
        ),
    ],
    values: &[
        (
            TicketField::Status,
            &[
                ("1", "open"),
                ("New", "open"),
                ("2", "in_progress"),
                ("In Progress", "in_progress"),
                ("3", "pending"),
                ("On Hold", "pending"),
                ("6", "resolved"),
                ("Resolved", "resolved"),
                ("7", "closed"),
                ("Closed", "closed"),
                ("8", "closed"),
                ("Canceled", "closed"),
                ("Cancelled", "closed"),
            ],
        ),
        (
            TicketField::Severity,
            &[
                ("1", "1"),
                ("1 - Critical", "1"),
                ("2", "2"),
                ("2 - High", "2"),
                ("3", "3"),
                ("3 - Moderate", "3"),
                ("4", "4"),
                ("4 - Low", "4"),
                ("5", "4"),
                ("5 - Planning", "4"),
            ],
        ),
        (
            TicketField::Channel,
            &[
                ("phone", "phone"),
                ("email", "email"),
                ("self-service", "portal"),
                ("walk-in", "walk_in"),
                ("chat", "chat"),
                ("virtual_agent", "chat"),
                ("Virtual Agent", "chat"),
            ],
        ),
        (
            TicketField::Category,
            &[
                ("inquiry", "how_to"),
                ("Inquiry / Help", "how_to"),
                ("software", "break_fix"),
                ("hardware", "hardware"),
                ("network", "break_fix"),
                ("database", "data"),
                ("*", "other"),
            ],
        ),
    ],
    defaults: &[],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TicketMappingConfig;
    use crate::mapping::TicketMapper;
    use crate::source::{CsvRecord, JsonRecord};
    use golive_core::model::{Category, Channel, TicketStatus};
    use golive_core::time::parse_rfc3339;
    use serde_json::json;

    fn now() -> golive_core::input::Clock {
        golive_core::input::Clock::new(parse_rfc3339("2026-03-02T12:00:00Z").unwrap(), 300_000)
    }

    fn mapper() -> TicketMapper {
        TicketMapper::new(&DEFAULTS, &TicketMappingConfig::default()).unwrap()
    }

    #[test]
    fn display_value_all_records_map_by_default() {
        let body = json!({
            "sys_id": {"display_value": "9d385017c611228701d22104cc95c371", "value": "9d385017c611228701d22104cc95c371"},
            "number": {"display_value": "INC0010001", "value": "INC0010001"},
            "state": {"display_value": "In Progress", "value": "2"},
            "priority": {"display_value": "5 - Planning", "value": "5"},
            "contact_type": {"display_value": "Walk-in", "value": "walk-in"},
            "category": {"display_value": "Request", "value": "request"},
            "location": {"display_value": "Main Campus", "link": "https://x/api/now/table/cmn_location/1", "value": "1"},
            "cmdb_ci": {"display_value": "", "value": ""},
            "business_service": {"display_value": "Epic Orders", "link": "https://x/y", "value": "2"},
            "caller_id.department": {"display_value": "Emergency", "value": "3"},
            "opened_at": {"display_value": "2026-03-02 01:14:05", "value": "2026-03-02 07:14:05"},
            "resolved_at": {"display_value": "", "value": ""},
            "sys_updated_on": {"display_value": "2026-03-02 01:20:00", "value": "2026-03-02 07:20:00"}
        });
        let text = body.to_string();
        let record = parse_records(text.as_bytes()).unwrap().remove(0).unwrap();
        let sync = mapper().map(&record, now()).unwrap();
        assert_eq!(
            sync.source_key,
            "servicenow:9d385017c611228701d22104cc95c371"
        );
        assert_eq!(sync.external_id.as_deref(), Some("INC0010001"));
        assert_eq!(sync.status, Ok(TicketStatus::InProgress));
        assert_eq!(sync.severity.map(|s| s.level()), Ok(4));
        assert_eq!(sync.channel, Ok(Channel::WalkIn));
        assert_eq!(sync.category, Ok(Category::Other));
        assert_eq!(sync.site.as_deref(), Ok("Main Campus"));
        assert_eq!(sync.application.as_deref(), Ok("Epic Orders"));
        assert_eq!(sync.department.as_deref(), Ok("Emergency"));
        assert_eq!(
            sync.opened_at,
            Ok(parse_rfc3339("2026-03-02T07:14:05Z").unwrap())
        );
        assert_eq!(sync.resolved_at, None);
    }

    #[test]
    fn unknown_codes_broken_references_and_missing_fields() {
        let base = json!({
            "sys_id": "a1", "number": "INC2", "state": "2", "priority": "3",
            "contact_type": "phone", "category": "inquiry", "location": "Main Campus",
            "cmdb_ci": "Orders", "u_department": "ICU",
            "opened_at": "2026-03-02 07:00:00", "sys_updated_on": "2026-03-02 07:05:00"
        });
        let with = |patch: serde_json::Value| {
            let mut record = base.as_object().unwrap().clone();
            for (k, v) in patch.as_object().unwrap() {
                record.insert(k.clone(), v.clone());
            }
            mapper().map(&JsonRecord(&record), now())
        };
        assert!(with(json!({})).is_ok());
        let e = with(json!({"priority": "9"})).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_str(), e.value.as_deref()),
            ("unmapped_value", "priority", Some("9"))
        );
        let e = with(json!({"state": "42"})).unwrap_err();
        assert_eq!(e.field, "state");
        let e = with(json!({"location": {"value": "5671", "link": "https://x/cmn_location/5671"}}))
            .unwrap_err();
        assert_eq!((e.code, e.field.as_str()), ("broken_reference", "location"));
        let e = with(json!({"opened_at": "02/03/2026"})).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_str()),
            ("invalid_timestamp", "opened_at")
        );
        let e = with(json!({"u_department": "IC\u{0}U"})).unwrap_err();
        assert_eq!(e.field, "u_department");
        let e = with(json!({"cmdb_ci": "x".repeat(100_000)})).unwrap_err();
        assert_eq!(e.field, "cmdb_ci");
        assert!(e.message.len() < 300);
        let e = with(json!({"sys_updated_on": ""})).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_str()),
            ("missing_field", "sys_updated_on")
        );
        let e = with(json!({"sys_id": "", "number": ""})).unwrap_err();
        assert_eq!(e.code, "missing_field");
        // Absent fields are deferred: fine for an update, named on create.
        let sync = with(json!({"location": ""})).unwrap();
        let deferred = sync.site.unwrap_err();
        assert_eq!(deferred.field.as_deref(), Some("location"));
    }

    #[test]
    fn csv_export_labels() {
        let header: Vec<String> = [
            "number",
            "state",
            "priority",
            "contact_type",
            "category",
            "location",
            "cmdb_ci",
            "caller_id.department",
            "opened_at",
            "sys_updated_on",
            "resolved_at",
        ]
        .map(String::from)
        .to_vec();
        let row: Vec<String> = [
            "INC0010009",
            "Resolved",
            "1 - Critical",
            "Self-service",
            "Inquiry / Help",
            "North Clinic",
            "Epic MAR",
            "Pharmacy",
            "2026-03-02 07:00:00",
            "2026-03-02 07:30:00",
            "2026-03-02 07:25:00",
        ]
        .map(String::from)
        .to_vec();
        let sync = mapper()
            .map(
                &CsvRecord {
                    header: &header,
                    row: &row,
                },
                now(),
            )
            .unwrap();
        assert_eq!(
            sync.source_key, "servicenow:INC0010009",
            "no sys_id column: the number"
        );
        assert_eq!(sync.status, Ok(TicketStatus::Resolved));
        assert_eq!(sync.severity.map(|s| s.level()), Ok(1));
        assert_eq!(sync.channel, Ok(Channel::Portal));
        assert_eq!(sync.category, Ok(Category::HowTo));
        assert_eq!(sync.department.as_deref(), Ok("Pharmacy"));
        assert!(sync.resolved_at.is_some());
    }

    #[test]
    fn configuration_adds_maps_and_refuses_bad_targets() {
        let config: TicketMappingConfig = serde_json::from_value(json!({
            "values": {"site": {"5671": "Main Campus"}, "severity": {"6": "4"}},
            "defaults": {"department": "Unknown"}
        }))
        .unwrap();
        let mapper = TicketMapper::new(&DEFAULTS, &config).unwrap();
        let record = json!({"sys_id": "a", "location": {"value": "5671", "link": "l"},
            "priority": "6", "sys_updated_on": "2026-03-02 07:00:00"});
        let sync = mapper
            .map(&JsonRecord(record.as_object().unwrap()), now())
            .unwrap();
        assert_eq!(sync.site.as_deref(), Ok("Main Campus"));
        assert_eq!(sync.severity.map(|s| s.level()), Ok(4));
        assert_eq!(sync.department.as_deref(), Ok("Unknown"));
        for bad in [
            json!({"values": {"status": {"9": "done"}}}),
            json!({"values": {"severity": {"9": "0"}}}),
            json!({"defaults": {"opened_at": "2026-03-02 07:00:00"}}),
        ] {
            let config: TicketMappingConfig = serde_json::from_value(bad).unwrap();
            assert!(TicketMapper::new(&DEFAULTS, &config).is_err());
        }
    }
}

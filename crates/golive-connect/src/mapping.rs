//! A compiled ticket mapping: turns one source record into a
//! [`TicketSync`] (the ledger's "current state of a ticket" command), or a
//! [`RecordError`] naming the source field and value.
//!
//! Per golive field: the configured source paths (else the connector's
//! defaults) are read in order and the first with a value wins. Choice
//! fields (status, severity, channel, category) go through their value map,
//! asked about the stored value and then the display value; a value the map
//! does not know is refused unless the map has a `"*"` entry. Names (site,
//! department, application) use the display value, through the value map
//! when one knows it; a bare reference (a sys_id without a display value)
//! that no map knows is refused as a broken reference. A field with no
//! value anywhere takes the configured default; otherwise the record can
//! still update a ticket golive knows, but creating one needs it.

use crate::config::{Sources, TicketField, TicketMappingConfig, ValueMap};
use crate::error::RecordError;
use crate::source::{Record, SourceValue};
use crate::time::{SourceTimeZone, checked_time};
use golive_core::input::{Clock, Rejection, TicketSync, checked_id, checked_name};
use golive_core::model::{Category, Channel, Severity, TicketStatus};
use golive_core::names::fold;
use golive_core::time::Millis;
use std::collections::{BTreeMap, HashMap};

/// A connector's built-in mapping: the defaults its configuration is
/// merged over.
pub struct Defaults {
    /// Prefix of source keys (`servicenow`, `jira`).
    pub source: &'static str,
    pub fields: &'static [(TicketField, &'static [&'static str])],
    pub values: &'static [(TicketField, &'static [(&'static str, &'static str)])],
    pub defaults: &'static [(TicketField, &'static str)],
}

/// One field's compiled value map: folded source value → golive value.
#[derive(Clone, Debug, Default)]
struct Table {
    entries: HashMap<String, String>,
    wildcard: Option<String>,
}

impl Table {
    fn get(&self, source: &str) -> Option<&str> {
        self.entries.get(&fold(source)).map(String::as_str)
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.wildcard.is_none()
    }
}

/// A mapping ready to use (see the module documentation).
#[derive(Clone, Debug)]
pub struct TicketMapper {
    source: &'static str,
    zone: SourceTimeZone,
    fields: BTreeMap<TicketField, Vec<String>>,
    tables: BTreeMap<TicketField, Table>,
    defaults: BTreeMap<TicketField, String>,
}

impl TicketMapper {
    /// Merges `config` over `defaults` and checks every value it names
    /// (a status that is not golive's, a severity out of 1..4, …).
    pub fn new(defaults: &Defaults, config: &TicketMappingConfig) -> Result<TicketMapper, String> {
        let mut fields: BTreeMap<TicketField, Vec<String>> = defaults
            .fields
            .iter()
            .map(|(field, paths)| (*field, paths.iter().map(|p| p.to_string()).collect()))
            .collect();
        for (field, sources) in &config.fields {
            let paths = match sources {
                Sources::One(path) => vec![path.clone()],
                Sources::Many(paths) => paths.clone(),
            };
            if paths.iter().any(|p| p.trim().is_empty()) {
                return Err(format!("fields.{}: empty source path", field.as_str()));
            }
            fields.insert(*field, paths);
        }
        let mut tables: BTreeMap<TicketField, Table> = BTreeMap::new();
        let default_tables = defaults.values.iter().map(|(field, entries)| {
            let map: ValueMap = entries
                .iter()
                .map(|(from, to)| (from.to_string(), to.to_string()))
                .collect();
            (*field, map)
        });
        for (field, map) in default_tables.chain(config.values.clone()) {
            let table = tables.entry(field).or_default();
            for (from, to) in map {
                check_target(field, &to).map_err(|e| format!("values.{}: {e}", field.as_str()))?;
                if from.trim() == "*" {
                    table.wildcard = Some(to);
                } else {
                    table.entries.insert(fold(&from), to);
                }
            }
        }
        let mut fixed: BTreeMap<TicketField, String> = defaults
            .defaults
            .iter()
            .map(|(field, value)| (*field, value.to_string()))
            .collect();
        for (field, value) in &config.defaults {
            if *field == TicketField::KnownIssue {
                return Err(
                    "defaults.known_issue: a record is linked through its own value \
                     (fields.known_issue and values.known_issue), never by default"
                        .to_string(),
                );
            }
            check_target(*field, value).map_err(|e| format!("defaults.{}: {e}", field.as_str()))?;
            fixed.insert(*field, value.clone());
        }
        Ok(TicketMapper {
            source: defaults.source,
            zone: config.time_zone,
            fields,
            tables,
            defaults: fixed,
        })
    }

    /// The source paths read for `field`, in order.
    pub fn sources(&self, field: TicketField) -> &[String] {
        self.fields.get(&field).map_or(&[], Vec::as_slice)
    }

    /// The zone of times without an offset.
    pub fn time_zone(&self) -> SourceTimeZone {
        self.zone
    }

    /// Maps one record, with `clock` (now and the configured skew)
    /// bounding how far in the future its times may be.
    pub fn map(&self, record: &dyn Record, clock: Clock) -> Result<TicketSync, RecordError> {
        let key = self
            .first(record, TicketField::Key)
            .and_then(|(path, value)| value.code().map(|code| (path, code.to_string())))
            .ok_or_else(|| {
                RecordError::missing(
                    &self.name_of(TicketField::Key),
                    "the record has no key: it cannot be told apart from others",
                )
            })?;
        let key_text = checked_id(key.0, &key.1)
            .and_then(|k| no_control(key.0, k))
            .map_err(|r| RecordError::from_rejection(&r, key.0, &key.1))?;
        let external_id = match self.first(record, TicketField::ExternalId) {
            Some((path, value)) => {
                let text = value.code().unwrap_or_default();
                Some(
                    checked_id("external_id", text)
                        .and_then(|k| no_control("external_id", k))
                        .map_err(|r| RecordError::from_rejection(&r, path, text))?,
                )
            }
            None => None,
        };
        let updated_at = self
            .time(record, TicketField::UpdatedAt, clock)?
            .ok_or_else(|| {
                RecordError::missing(
                    &self.name_of(TicketField::UpdatedAt),
                    "the record has no update time: newer and older states cannot be told apart",
                )
            })?;
        let opened_at = self
            .time(record, TicketField::OpenedAt, clock)?
            .ok_or_else(|| self.absent(TicketField::OpenedAt));
        let resolved_at = self.time(record, TicketField::ResolvedAt, clock)?;
        Ok(TicketSync {
            source_key: format!("{}:{key_text}", self.source),
            external_id,
            updated_at,
            opened_at,
            status: self.choice(record, TicketField::Status, TicketStatus::parse)?,
            resolved_at,
            site: self.name(record, TicketField::Site)?,
            department: self.name(record, TicketField::Department)?,
            application: self.name(record, TicketField::Application)?,
            category: self.choice(record, TicketField::Category, Category::parse)?,
            severity: self.choice(record, TicketField::Severity, parse_severity)?,
            channel: self.choice(record, TicketField::Channel, Channel::parse)?,
            known_issue: self.known_issue(record),
        })
    }

    /// The first source path of `field` with a value, and its values.
    fn first(&self, record: &dyn Record, field: TicketField) -> Option<(&str, SourceValue)> {
        self.sources(field).iter().find_map(|path| {
            let mut values = record.values(path);
            (!values.is_empty()).then(|| (path.as_str(), values.swap_remove(0)))
        })
    }

    /// The first source path of `field` with a value, and all its values.
    fn all(&self, record: &dyn Record, field: TicketField) -> Option<(&str, Vec<SourceValue>)> {
        self.sources(field).iter().find_map(|path| {
            let values = record.values(path);
            (!values.is_empty()).then_some((path.as_str(), values))
        })
    }

    /// How errors name `field`: its first source path, else golive's name.
    fn name_of(&self, field: TicketField) -> String {
        self.sources(field)
            .first()
            .cloned()
            .unwrap_or_else(|| field.as_str().to_string())
    }

    /// The deferred refusal of a field the record has no value for.
    fn absent(&self, field: TicketField) -> Rejection {
        let name = self.name_of(field);
        let why = if self.sources(field).is_empty() {
            format!(
                "no source is configured for golive's {} and there is no default; set \
                 fields.{0} or defaults.{0}",
                field.as_str()
            )
        } else {
            format!(
                "the record has no value, needed for golive's {} to create the ticket",
                field.as_str()
            )
        };
        Rejection::invalid(&name, why).with_code("missing_field")
    }

    fn time(
        &self,
        record: &dyn Record,
        field: TicketField,
        clock: Clock,
    ) -> Result<Option<Millis>, RecordError> {
        match self.first(record, field) {
            Some((path, value)) => {
                let text = value.code().unwrap_or_default();
                checked_time(path, text, self.zone, clock).map(Some)
            }
            None => Ok(None),
        }
    }

    /// A choice field through its value map.
    fn choice<T>(
        &self,
        record: &dyn Record,
        field: TicketField,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Result<T, Rejection>, RecordError> {
        let table = self.tables.get(&field);
        let Some((path, value)) = self.first(record, field) else {
            return Ok(match self.defaults.get(&field).and_then(|d| parse(d)) {
                Some(parsed) => Ok(parsed),
                None => Err(self.absent(field)),
            });
        };
        let mapped = match table {
            Some(table) if !table.is_empty() => value
                .candidates()
                .find_map(|candidate| table.get(candidate))
                .or(table.wildcard.as_deref()),
            // No map: the value must already be golive's.
            _ => value.code(),
        };
        let shown = value.code().unwrap_or_default();
        match mapped.and_then(&parse) {
            Some(parsed) => Ok(Ok(parsed)),
            None => Err(RecordError::unmapped(path, shown, field.as_str())),
        }
    }

    /// The known issue id `values.known_issue` maps the record's value to
    /// (its stored or its display value, e.g. a problem's sys_id or
    /// number); none when the record has no value or the map does not know
    /// it, which is no error: most problems are not a go-live known issue.
    fn known_issue(&self, record: &dyn Record) -> Option<String> {
        let table = self.tables.get(&TicketField::KnownIssue)?;
        let (_, values) = self.all(record, TicketField::KnownIssue)?;
        values
            .iter()
            .find_map(|value| value.candidates().find_map(|c| table.get(c)))
            .or(table.wildcard.as_deref())
            .map(str::to_owned)
    }

    /// A name field: the display value, through the value map when it
    /// knows the value (of a list, the first value it knows).
    fn name(
        &self,
        record: &dyn Record,
        field: TicketField,
    ) -> Result<Result<String, Rejection>, RecordError> {
        let Some((path, values)) = self.all(record, field) else {
            return Ok(match self.defaults.get(&field) {
                Some(name) => Ok(name.clone()),
                None => Err(self.absent(field)),
            });
        };
        let table = self.tables.get(&field).filter(|t| !t.is_empty());
        let mapped = table.and_then(|table| {
            values
                .iter()
                .find_map(|value| value.candidates().find_map(|c| table.get(c)))
        });
        let chosen = &values[0];
        let text = match (mapped, table) {
            (Some(mapped), _) => mapped.to_string(),
            (None, Some(table)) if table.wildcard.is_some() => {
                table.wildcard.clone().unwrap_or_default()
            }
            (None, _) if chosen.reference_only => {
                return Err(RecordError::invalid(
                    "broken_reference",
                    path,
                    chosen.code().unwrap_or_default(),
                    format!(
                        "is a reference without a display value; ask for \
                         sysparm_display_value=all or map the id in values.{}",
                        field.as_str()
                    ),
                ));
            }
            (None, _) => chosen.label().unwrap_or_default().to_string(),
        };
        checked_name(field.as_str(), &text)
            .map(Ok)
            .map_err(|r| RecordError::from_rejection(&r, path, &text))
    }
}

fn parse_severity(text: &str) -> Option<Severity> {
    text.trim().parse::<u8>().ok().and_then(Severity::new)
}

fn no_control(field: &str, text: String) -> Result<String, Rejection> {
    if text.chars().any(char::is_control) {
        return Err(Rejection::invalid(field, "contains control characters"));
    }
    Ok(text)
}

/// Checks that `value` is something golive's `field` can hold.
fn check_target(field: TicketField, value: &str) -> Result<(), String> {
    let ok = match field {
        TicketField::Status => TicketStatus::parse(value).is_some(),
        TicketField::Severity => parse_severity(value).is_some(),
        TicketField::Channel => Channel::parse(value).is_some(),
        TicketField::Category => Category::parse(value).is_some(),
        TicketField::Site | TicketField::Department | TicketField::Application => {
            checked_name(field.as_str(), value).is_ok()
        }
        TicketField::KnownIssue => checked_id(field.as_str(), value).is_ok(),
        TicketField::Key
        | TicketField::ExternalId
        | TicketField::OpenedAt
        | TicketField::ResolvedAt
        | TicketField::UpdatedAt => {
            return Err(format!(
                "{} takes no value map or default: it comes from the record",
                field.as_str()
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{value:?} is not a golive {}", field.as_str()))
    }
}

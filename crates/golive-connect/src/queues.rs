//! Phone queues named by a source (a queue name, an ARN, a queue_log
//! queue): one way to turn them into golive queues for every telephony
//! connector — the connector's queue map first, then the `[names.queue]`
//! canonical names and aliases, then golive's folding (case and whitespace
//! never split a queue), with a policy for queues nobody configured.

use crate::error::RecordError;
use golive_core::input::checked_name;
use golive_core::names::{NameKind, NameRules, fold};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What to do with a queue that neither the connector's map nor
/// `[names.queue]` names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownQueues {
    /// Record it under its own (folded) name.
    #[default]
    Admit,
    /// Refuse the record, naming the queue: for feeds that carry queues
    /// the command center does not watch.
    Refuse,
}

/// A connector's `queues` table, e.g. `[connectors.amazon_connect.queues]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueMapConfig {
    /// Source queue (name, ARN, id; compared ignoring case and whitespace)
    /// → golive queue.
    pub map: BTreeMap<String, String>,
    /// Queues not in `map` nor in `[names.queue]`.
    pub unknown: UnknownQueues,
}

/// A compiled [`QueueMapConfig`] with the `[names]` rules.
#[derive(Clone, Debug)]
pub struct QueueResolver {
    map: HashMap<String, String>,
    unknown: UnknownQueues,
    rules: NameRules,
}

impl QueueResolver {
    /// Checks the map's golive names and compiles it.
    pub fn new(config: &QueueMapConfig, rules: NameRules) -> Result<QueueResolver, String> {
        let mut map = HashMap::new();
        for (source, queue) in &config.map {
            let queue = checked_name("queue", queue).map_err(|r| format!("queues.map: {r}"))?;
            map.insert(fold(source), queue);
        }
        Ok(QueueResolver {
            map,
            unknown: config.unknown,
            rules,
        })
    }

    /// The golive queue the map or `[names.queue]` gives `source`, if
    /// either knows it (no policy applied).
    pub fn lookup(&self, source: &str) -> Option<String> {
        if let Some(queue) = self.map.get(&fold(source)) {
            return Some(
                self.rules
                    .configured(NameKind::Queue, queue)
                    .map_or_else(|| queue.clone(), |name| name.to_string()),
            );
        }
        self.rules
            .configured(NameKind::Queue, source)
            .map(|name| name.to_string())
    }

    /// The golive queue for `source` (read from source field `field`).
    /// Mapped and configured names come back as configured; others, when
    /// admitted, as given (trimmed): the ledger folds them onto the
    /// spelling it knows.
    pub fn resolve(&self, field: &str, source: &str) -> Result<String, RecordError> {
        if let Some(queue) = self.lookup(source) {
            return Ok(queue);
        }
        match self.unknown {
            UnknownQueues::Refuse => Err(RecordError::invalid(
                "unknown_queue",
                field,
                source,
                "is not a configured queue (unknown = \"refuse\"); add it to the connector's \
                 queues.map or to [names.queue]",
            )),
            UnknownQueues::Admit => checked_name("queue", source)
                .map_err(|r| RecordError::from_rejection(&r, field, source)),
        }
    }

    /// Whether this resolver refuses queues it does not know.
    pub fn refuses_unknown(&self) -> bool {
        self.unknown == UnknownQueues::Refuse
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use golive_core::names::{NameList, NamesConfig};

    fn rules() -> NameRules {
        NameRules::new(&NamesConfig {
            queue: NameList {
                canonical: vec!["Physician Line".into()],
                aliases: [("MD line".to_string(), "Physician Line".to_string())].into(),
            },
            ..NamesConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn map_then_names_then_policy() {
        let config = QueueMapConfig {
            map: [(
                "arn:aws:connect:us-east-1:1:instance/i/queue/abc".to_string(),
                "physician line".to_string(),
            )]
            .into(),
            unknown: UnknownQueues::Refuse,
        };
        let resolver = QueueResolver::new(&config, rules()).unwrap();
        let arn = "arn:aws:connect:us-east-1:1:instance/i/queue/ABC";
        assert_eq!(resolver.resolve("QueueArn", arn).unwrap(), "Physician Line");
        assert_eq!(
            resolver.resolve("queue", " md  LINE ").unwrap(),
            "Physician Line"
        );
        let error = resolver.resolve("queue", "Lab Results").unwrap_err();
        assert_eq!(
            (error.code, error.field.as_str()),
            ("unknown_queue", "queue")
        );
        assert!(error.message.contains("Lab Results"));

        let admit = QueueResolver::new(&QueueMapConfig::default(), rules()).unwrap();
        assert_eq!(
            admit.resolve("queue", " Lab Results ").unwrap(),
            "Lab Results"
        );
        assert!(admit.resolve("queue", "bad\u{0}queue").is_err());
        assert!(!admit.refuses_unknown());
    }
}

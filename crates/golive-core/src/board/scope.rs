//! What one display asked to see: the whole center, one site or one
//! phone queue (`?site=` / `?queue=` on the board and the live socket).

use crate::aggregate::Aggregator;
use crate::alerts::AlertScope;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

/// A board's scope. A site's display sees that site's tickets, its
/// at-the-elbow line and the alerts about it; a queue's display sees that
/// queue's calls, its staffing line and the alerts about it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    #[default]
    All,
    Site(String),
    Queue(String),
}

/// Why a scope cannot be served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("give site or queue, not both")]
    Both,
    #[error("no site named {0:?}: no ticket has named it")]
    UnknownSite(String),
    #[error("no queue named {0:?}: no call or configuration has named it")]
    UnknownQueue(String),
}

impl Scope {
    /// The scope a query asks for; blank values are absent.
    pub fn from_query(site: Option<&str>, queue: Option<&str>) -> Result<Scope, ScopeError> {
        fn clean(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        match (clean(site), clean(queue)) {
            (Some(_), Some(_)) => Err(ScopeError::Both),
            (Some(site), None) => Ok(Scope::Site(site.to_owned())),
            (None, Some(queue)) => Ok(Scope::Queue(queue.to_owned())),
            (None, None) => Ok(Scope::All),
        }
    }

    /// Whether the aggregator knows the site or queue named.
    pub fn check(&self, aggregator: &Aggregator) -> Result<(), ScopeError> {
        match self {
            Scope::All => Ok(()),
            Scope::Site(site) if aggregator.knows_site(site) => Ok(()),
            Scope::Site(site) => Err(ScopeError::UnknownSite(site.clone())),
            Scope::Queue(queue) if aggregator.knows_queue(queue) => Ok(()),
            Scope::Queue(queue) => Err(ScopeError::UnknownQueue(queue.clone())),
        }
    }

    pub fn is_all(&self) -> bool {
        *self == Scope::All
    }

    pub fn site(&self) -> Option<&str> {
        match self {
            Scope::Site(site) => Some(site),
            _ => None,
        }
    }

    pub fn queue(&self) -> Option<&str> {
        match self {
            Scope::Queue(queue) => Some(queue),
            _ => None,
        }
    }

    /// Whether an alert about `place` belongs on this scope's display.
    pub fn admits(&self, place: &AlertScope) -> bool {
        match self {
            Scope::All => true,
            Scope::Site(site) => place.site.as_deref() == Some(site),
            Scope::Queue(queue) => place.queue.as_deref() == Some(queue),
        }
    }
}

/// On the wire as `{"site": …, "queue": …}` (null where not scoped).
impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Scope", 2)?;
        out.serialize_field("site", &self.site())?;
        out.serialize_field("queue", &self.queue())?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_queries() {
        assert_eq!(Scope::from_query(None, Some(" ")), Ok(Scope::All));
        assert_eq!(
            Scope::from_query(Some(" North "), None),
            Ok(Scope::Site("North".into()))
        );
        assert_eq!(
            Scope::from_query(Some("a"), Some("b")),
            Err(ScopeError::Both)
        );
    }

    #[test]
    fn admits_only_its_own_alerts() {
        let queue = AlertScope {
            queue: Some("Nursing".into()),
            ..AlertScope::default()
        };
        let site = AlertScope {
            site: Some("North".into()),
            application: Some("MAR".into()),
            queue: None,
        };
        assert!(Scope::All.admits(&queue) && Scope::All.admits(&AlertScope::default()));
        assert!(Scope::Queue("Nursing".into()).admits(&queue));
        assert!(!Scope::Queue("Nursing".into()).admits(&site));
        assert!(Scope::Site("North".into()).admits(&site));
        assert!(!Scope::Site("North".into()).admits(&AlertScope::default()));
    }
}

//! Names of sites, departments, applications and queues: one place decides
//! when two spellings are the same thing.
//!
//! Case and whitespace never split a name: `"Main Campus"`, `"main campus"`
//! and `" Main  Campus "` fold to one key ([`fold`]: trim, collapse runs of
//! whitespace to one space, lower-case). Which spelling is shown is decided
//! per key:
//!
//! 1. a configured canonical name ([`NameRules`]) wins, and a configured
//!    alias (`"MC"` → `"Main Campus"`) resolves to its target first;
//! 2. otherwise the first spelling the log saw for the key (whitespace
//!    collapsed), so a replay of the log decides exactly as the original
//!    run did.
//!
//! The ledger applies these rules to every command whatever its path
//! (native API, bulk ingest, connectors), and events carry the display name
//! it chose, so the aggregator and the projections never fold anything.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A kind of name that folds (the free-text dimensions of tickets, and
/// phone queues).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameKind {
    Site,
    Department,
    Application,
    Queue,
}

impl NameKind {
    pub const ALL: [NameKind; 4] = [
        NameKind::Site,
        NameKind::Department,
        NameKind::Application,
        NameKind::Queue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Site => "site",
            NameKind::Department => "department",
            NameKind::Application => "application",
            NameKind::Queue => "queue",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The key two spellings share when they name the same thing: trimmed,
/// inner whitespace collapsed to single spaces, lower-cased.
pub fn fold(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        for c in word.chars() {
            key.extend(c.to_lowercase());
        }
    }
    key
}

/// `text` trimmed with inner whitespace collapsed, as it is displayed.
pub fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether `text` is already displayable as is (no outer or doubled
/// whitespace, no whitespace other than plain spaces).
fn is_collapsed(text: &str) -> bool {
    !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.contains("  ")
        && !text.chars().any(|c| c.is_whitespace() && c != ' ')
}

/// Configured names of one kind: canonical spellings and aliases.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NameList {
    /// Spellings to show for these names, whatever spelling arrives.
    pub canonical: Vec<String>,
    /// Other names for the same thing: alias → name (the name may itself
    /// be canonical, or is shown as written here).
    pub aliases: BTreeMap<String, String>,
}

/// The `[names]` section of the configuration: canonical names and aliases
/// per kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NamesConfig {
    pub site: NameList,
    pub department: NameList,
    pub application: NameList,
    pub queue: NameList,
}

/// [`NamesConfig`] compiled into lookups by fold key.
#[derive(Clone, Debug, Default)]
pub struct NameRules {
    /// Per kind: fold key (of a canonical name or an alias) → display name.
    by_key: [HashMap<String, Arc<str>>; 4],
}

impl NameRules {
    /// Checks and compiles the configuration. Refuses empty names, an alias
    /// that is also another name's canonical spelling, and two canonical
    /// spellings of one key.
    pub fn new(config: &NamesConfig) -> Result<NameRules, String> {
        let mut rules = NameRules::default();
        for kind in NameKind::ALL {
            let list = match kind {
                NameKind::Site => &config.site,
                NameKind::Department => &config.department,
                NameKind::Application => &config.application,
                NameKind::Queue => &config.queue,
            };
            let map = &mut rules.by_key[kind.index()];
            let mut canonical_keys: HashMap<String, Arc<str>> = HashMap::new();
            for name in &list.canonical {
                let display = checked(kind, name)?;
                let key = fold(&display);
                if let Some(other) = canonical_keys.get(&key)
                    && **other != *display
                {
                    return Err(format!(
                        "names.{}: {other:?} and {display:?} are the same name; keep one",
                        kind.as_str()
                    ));
                }
                canonical_keys.insert(key, Arc::from(display));
            }
            for (alias, target) in &list.aliases {
                let alias_text = checked(kind, alias)?;
                let target_text = checked(kind, target)?;
                let target_key = fold(&target_text);
                let display = canonical_keys
                    .get(&target_key)
                    .cloned()
                    .unwrap_or_else(|| Arc::from(target_text));
                let alias_key = fold(&alias_text);
                if alias_key == target_key {
                    continue;
                }
                if canonical_keys.contains_key(&alias_key) {
                    return Err(format!(
                        "names.{}: {alias_text:?} is both a canonical name and an alias",
                        kind.as_str()
                    ));
                }
                map.insert(alias_key, display.clone());
                map.entry(target_key).or_insert(display);
            }
            for (key, display) in canonical_keys {
                map.insert(key, display);
            }
        }
        Ok(rules)
    }

    /// The configured display name for `text` (an alias or any spelling of
    /// a canonical name), if configuration names one.
    pub fn configured(&self, kind: NameKind, text: &str) -> Option<&Arc<str>> {
        let map = &self.by_key[kind.index()];
        if map.is_empty() {
            return None;
        }
        map.get(&fold(text))
    }

    /// Whether configuration names any canonical name or alias of `kind`.
    pub fn has_any(&self, kind: NameKind) -> bool {
        !self.by_key[kind.index()].is_empty()
    }
}

fn checked(kind: NameKind, text: &str) -> Result<String, String> {
    let display = collapse(text);
    if display.is_empty() || display.chars().count() > crate::input::MAX_NAME_CHARS {
        return Err(format!(
            "names.{}: {text:?} must be 1..{} characters",
            kind.as_str(),
            crate::input::MAX_NAME_CHARS
        ));
    }
    if display.chars().any(char::is_control) {
        return Err(format!(
            "names.{}: {text:?} contains control characters",
            kind.as_str()
        ));
    }
    Ok(display)
}

/// What the ledger knows of the names in the log: per kind, the display
/// name of every fold key, plus a cache from exact spellings to what they
/// resolve to, so that the common case (a spelling seen before) costs one
/// lookup and no folding.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct NameBook {
    /// Per kind: fold key → the first spelling the log saw.
    by_key: [HashMap<Box<str>, Arc<str>>; 4],
    /// Per kind: an exact spelling → its display name. Only holds spellings
    /// of keys that are in `by_key` or configured, whose answer cannot
    /// change any more. Depends on the configuration: a checkpoint leaves
    /// it out and it fills again as names are looked up.
    #[serde(skip)]
    by_spelling: [HashMap<Box<str>, Arc<str>>; 4],
}

impl NameBook {
    /// The display name for `text` under `rules` and what the log saw.
    pub(crate) fn resolve(&mut self, rules: &NameRules, kind: NameKind, text: &str) -> Arc<str> {
        let i = kind.index();
        if let Some(display) = self.by_spelling[i].get(text) {
            return display.clone();
        }
        let (display, settled) = match rules.configured(kind, text) {
            Some(display) => (display.clone(), true),
            None => match self.by_key[i].get(fold(text).as_str()) {
                Some(display) => (display.clone(), true),
                None => (Arc::from(collapse(text)), false),
            },
        };
        if settled {
            self.by_spelling[i].insert(Box::from(text), display.clone());
        }
        display
    }

    /// Records a name an event carries (the fold of the log): the first
    /// spelling of a key becomes its display name. Returns the key when it
    /// was new (for the undo log).
    pub(crate) fn record(&mut self, kind: NameKind, name: &str) -> Option<Box<str>> {
        let i = kind.index();
        if let Some(display) = self.by_spelling[i].get(name)
            && **display == *name
        {
            return None;
        }
        let key = fold(name);
        if let Some(display) = self.by_key[i].get(key.as_str()) {
            if **display == *name {
                let display = display.clone();
                self.by_spelling[i].insert(Box::from(name), display);
            }
            return None;
        }
        let shown: Arc<str> = if is_collapsed(name) {
            Arc::from(name)
        } else {
            Arc::from(collapse(name))
        };
        let key: Box<str> = key.into_boxed_str();
        self.by_key[i].insert(key.clone(), shown);
        Some(key)
    }

    /// Undoes a [`NameBook::record`] that added `key`. Cached spellings may
    /// have been resolved through it, so the cache of that kind is cleared
    /// (rollbacks are rare; the cache refills).
    pub(crate) fn forget(&mut self, kind: NameKind, key: &str) {
        let i = kind.index();
        self.by_key[i].remove(key);
        self.by_spelling[i].clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_whitespace() {
        assert_eq!(fold("  Main \t Campus "), "main campus");
        assert_eq!(fold("MAIN CAMPUS"), fold("main campus"));
        assert_eq!(collapse("  Main \t Campus "), "Main Campus");
        assert_eq!(fold("Ärzte Haus"), "ärzte haus");
        assert!(is_collapsed("Main Campus"));
        assert!(!is_collapsed("Main  Campus"));
        assert!(!is_collapsed("Main\tCampus"));
    }

    #[test]
    fn first_spelling_in_the_log_wins_unless_configured() {
        let rules = NameRules::default();
        let mut book = NameBook::default();
        let first = book.resolve(&rules, NameKind::Site, "main  campus");
        assert_eq!(&*first, "main campus");
        assert!(book.record(NameKind::Site, &first).is_some());
        assert_eq!(
            &*book.resolve(&rules, NameKind::Site, "MAIN CAMPUS"),
            "main campus"
        );
        // Another kind is another namespace.
        assert_eq!(
            &*book.resolve(&rules, NameKind::Queue, "MAIN CAMPUS"),
            "MAIN CAMPUS"
        );

        let config = NamesConfig {
            site: NameList {
                canonical: vec!["Main Campus".into()],
                aliases: [("MC".to_string(), "main campus".to_string())].into(),
            },
            ..NamesConfig::default()
        };
        let rules = NameRules::new(&config).unwrap();
        let mut book = NameBook::default();
        book.record(NameKind::Site, "main campus");
        for spelling in ["MC", "mc ", "main campus", "Main  Campus"] {
            assert_eq!(
                &*book.resolve(&rules, NameKind::Site, spelling),
                "Main Campus"
            );
        }
    }

    #[test]
    fn rollback_forgets_a_new_key() {
        let rules = NameRules::default();
        let mut book = NameBook::default();
        let added = book.record(NameKind::Application, "orders");
        assert_eq!(
            &*book.resolve(&rules, NameKind::Application, "ORDERS"),
            "orders"
        );
        book.forget(NameKind::Application, &added.unwrap());
        assert_eq!(
            &*book.resolve(&rules, NameKind::Application, "ORDERS"),
            "ORDERS"
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        let both = NamesConfig {
            queue: NameList {
                canonical: vec!["Nursing".into(), "NURSING".into()],
                ..NameList::default()
            },
            ..NamesConfig::default()
        };
        assert!(NameRules::new(&both).is_err());
        let alias_is_canonical = NamesConfig {
            queue: NameList {
                canonical: vec!["Nursing".into(), "Pharmacy".into()],
                aliases: [("pharmacy".to_string(), "Nursing".to_string())].into(),
            },
            ..NamesConfig::default()
        };
        assert!(NameRules::new(&alias_is_canonical).is_err());
        let empty = NamesConfig {
            site: NameList {
                canonical: vec!["  ".into()],
                ..NameList::default()
            },
            ..NamesConfig::default()
        };
        assert!(NameRules::new(&empty).is_err());
    }
}

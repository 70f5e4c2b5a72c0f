//! Bearer-token authentication and role checks.
//!
//! Tokens are looked up by their SHA-256 in the store (a token itself is
//! never kept, logged nor cached: only its hash is); answers are cached in
//! a bounded `moka` cache so a busy desk does not cost a query per request.
//! Revocation does not wait for the cache: the revocation watcher
//! (`crate::revocation`) sees every revocation within a second, whichever
//! process made it, and hands the revoked hashes here, which drops every
//! cached answer and tells live sockets (each remembers the hash of the
//! token that opened it) to close if theirs is among them. Cached answers
//! also expire by age ([`KNOWN_SECONDS`], [`UNKNOWN_SECONDS`]), a backstop
//! should the watcher be unable to read the database for a while.
//!
//! How a request presents its token is `crate::extract`'s business.

use crate::error::ApiError;
use golive_core::model::Role;
use golive_store::{Store, token};
use moka::Expiry;
use moka::sync::Cache;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a cached role is trusted without the watcher's word.
const KNOWN_SECONDS: u64 = 60;
/// How long an unknown (or revoked) token is remembered as such: briefly,
/// so a token just created by the CLI or another process works at once.
const UNKNOWN_SECONDS: u64 = 2;
/// Bounds the cache so a flood of random tokens cannot grow it forever
/// (moka's TinyLFU admission keeps the answers asked for often: a flood
/// of one-off tokens does not push out the desk's).
const CACHE_LIMIT: u64 = 10_000;

/// The hashes of every revoked token, as last read from the store.
pub type Revoked = Arc<HashSet<String>>;

/// Resolves tokens to roles.
pub struct Authenticator {
    admin_token_hash: Option<String>,
    /// Token hash → the answer the store gave.
    cache: Cache<String, Cached>,
    /// Bumped whenever a new revocation is seen: answers cached under an
    /// older generation are not trusted (a lookup that started before the
    /// revocation cannot reinstate the token).
    generation: AtomicU64,
    revoked: watch::Sender<Revoked>,
}

#[derive(Clone, Copy)]
struct Cached {
    role: Option<Role>,
    generation: u64,
}

/// A known token's answer lives [`KNOWN_SECONDS`], an unknown one's
/// [`UNKNOWN_SECONDS`].
struct ByRole;

impl Expiry<String, Cached> for ByRole {
    fn expire_after_create(&self, _: &String, cached: &Cached, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(if cached.role.is_some() {
            KNOWN_SECONDS
        } else {
            UNKNOWN_SECONDS
        }))
    }
}

impl Authenticator {
    pub fn new(admin_token: Option<&str>) -> Self {
        Authenticator {
            admin_token_hash: admin_token.filter(|t| !t.is_empty()).map(token::hash),
            cache: Cache::builder()
                .max_capacity(CACHE_LIMIT)
                .expire_after(ByRole)
                .build(),
            generation: AtomicU64::new(0),
            revoked: watch::Sender::new(Arc::default()),
        }
    }

    /// The role of the token with this hash, or `None` when it is unknown
    /// or revoked.
    pub async fn role_of(&self, store: &dyn Store, hashed: &str) -> Result<Option<Role>, ApiError> {
        if self.admin_token_hash.as_deref() == Some(hashed) {
            return Ok(Some(Role::Admin));
        }
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(cached) = self.cache.get(hashed)
            && cached.generation == generation
        {
            return Ok(cached.role);
        }
        let role = store.token_role(hashed).await?;
        self.cache
            .insert(hashed.to_string(), Cached { role, generation });
        Ok(role)
    }

    /// The name of the token with this hash, as an act is recorded under
    /// it (the bootstrap admin token is "admin").
    pub async fn name_of(&self, store: &dyn Store, hashed: &str) -> Result<String, ApiError> {
        if self.admin_token_hash.as_deref() == Some(hashed) {
            return Ok("admin".into());
        }
        store
            .token_name(hashed)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }

    /// Takes the hashes of every revoked token (from the store): when any
    /// is new, forgets every cached answer and tells live sockets.
    pub fn revoked(&self, hashes: HashSet<String>) {
        let changed = self.revoked.send_if_modified(|current| {
            if hashes.is_subset(current) {
                return false;
            }
            *current = Arc::new(hashes);
            true
        });
        if changed {
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.cache.invalidate_all();
        }
    }

    /// Revoked token hashes, for sockets to watch.
    pub fn revocations(&self) -> watch::Receiver<Revoked> {
        self.revoked.subscribe()
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub role: Role,
    /// The SHA-256 of the token presented (a live socket closes when it is
    /// revoked).
    pub token_hash: Arc<str>,
}

impl Caller {
    /// Allows admin and the listed roles; 403 otherwise.
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if self.role == Role::Admin || allowed.contains(&self.role) {
            return Ok(());
        }
        let mut names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        names.push("admin");
        Err(ApiError::forbidden(&names.join(" or ")))
    }
}

/// Roles that may read boards and reports.
pub const READERS: &[Role] = &[Role::Lead, Role::Agent, Role::Integration, Role::Display];
/// Roles that may create and change tickets.
pub const TICKET_WRITERS: &[Role] = &[Role::Lead, Role::Agent, Role::Integration];
/// Roles that may read tickets (which carry free text).
pub const TICKET_READERS: &[Role] = &[Role::Lead, Role::Agent, Role::Integration];
/// Roles that feed machine data (bulk ingest, call events).
pub const FEEDERS: &[Role] = &[Role::Integration];
/// Roles that lead the command center (alerts, display tokens).
pub const LEADS: &[Role] = &[Role::Lead];
/// Roles that may change queue and staffing settings: leads, and
/// phone-system feeds for `agents_staffed` alone (the route checks the
/// fields).
pub const QUEUE_SETTERS: &[Role] = &[Role::Lead, Role::Integration];

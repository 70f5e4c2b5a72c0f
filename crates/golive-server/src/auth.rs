//! Bearer-token authentication and role checks.
//!
//! Tokens are looked up by their SHA-256 in the store; answers are cached
//! so a busy desk does not cost a query per request. Revocation does not
//! wait for the cache: the revocation watcher (`crate::revocation`) sees
//! every revocation within a second, whichever process made it, and hands
//! the revoked hashes here, which drops every cached answer and tells live
//! sockets (each remembers the hash of the token that opened it) to close
//! if theirs is among them. Cached answers also expire by age
//! ([`KNOWN_SECONDS`], [`UNKNOWN_SECONDS`]), a backstop should the
//! watcher be unable to read the database for a while.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use dashmap::DashMap;
use golive_core::model::Role;
use golive_store::{Store, token};
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
/// Bounds the cache so a flood of random tokens cannot grow it forever.
const CACHE_LIMIT: usize = 10_000;

/// The hashes of every revoked token, as last read from the store.
pub type Revoked = Arc<HashSet<String>>;

/// Resolves tokens to roles.
pub struct Authenticator {
    admin_token_hash: Option<String>,
    cache: DashMap<String, Cached>,
    /// Bumped whenever a new revocation is seen: answers cached under an
    /// older generation are not trusted (a lookup that started before the
    /// revocation cannot reinstate the token).
    generation: AtomicU64,
    revoked: watch::Sender<Revoked>,
}

struct Cached {
    role: Option<Role>,
    at: Instant,
    generation: u64,
}

impl Authenticator {
    pub fn new(admin_token: Option<&str>) -> Self {
        Authenticator {
            admin_token_hash: admin_token.filter(|t| !t.is_empty()).map(token::hash),
            cache: DashMap::new(),
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
        if let Some(entry) = self.cache.get(hashed) {
            let trusted_for = Duration::from_secs(if entry.role.is_some() {
                KNOWN_SECONDS
            } else {
                UNKNOWN_SECONDS
            });
            if entry.generation == generation && entry.at.elapsed() < trusted_for {
                return Ok(entry.role);
            }
        }
        let role = store.token_role(hashed).await?;
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(
            hashed.to_string(),
            Cached {
                role,
                at: Instant::now(),
                generation,
            },
        );
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
            self.cache.clear();
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

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let presented = bearer(parts)
            .or_else(|| query_token(parts))
            .ok_or_else(ApiError::unauthorized)?;
        let token_hash = token::hash(&presented);
        match state
            .auth
            .role_of(state.store.as_ref(), &token_hash)
            .await?
        {
            Some(role) => Ok(Caller {
                role,
                token_hash: token_hash.into(),
            }),
            None => Err(ApiError::unauthorized()),
        }
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// `?token=` is accepted only for GET requests: wall displays open the
/// board and its socket that way, and browsers cannot set headers on a
/// WebSocket. Writes always need the header.
fn query_token(parts: &Parts) -> Option<String> {
    if parts.method != axum::http::Method::GET {
        return None;
    }
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .filter(|t| !t.is_empty())
}

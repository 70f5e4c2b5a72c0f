//! Bearer-token authentication and role checks.
//!
//! Tokens are looked up by their SHA-256 in the store; answers are cached
//! for a short time so a busy desk does not cost a query per request, while
//! a revoked token stops working within `CACHE_SECONDS`.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use dashmap::DashMap;
use golive_core::model::Role;
use golive_store::{Store, token};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CACHE_SECONDS: u64 = 30;
/// Bounds the cache so a flood of random tokens cannot grow it forever.
const CACHE_LIMIT: usize = 10_000;

/// Resolves tokens to roles.
pub struct Authenticator {
    admin_token_hash: Option<String>,
    cache: DashMap<String, (Option<Role>, Instant)>,
}

impl Authenticator {
    pub fn new(admin_token: Option<&str>) -> Self {
        Authenticator {
            admin_token_hash: admin_token.filter(|t| !t.is_empty()).map(token::hash),
            cache: DashMap::new(),
        }
    }

    /// The role of `token`, or `None` when it is unknown or revoked.
    pub async fn role_of(
        &self,
        store: &dyn Store,
        presented: &str,
    ) -> Result<Option<Role>, ApiError> {
        let hashed = token::hash(presented);
        if self.admin_token_hash.as_deref() == Some(hashed.as_str()) {
            return Ok(Some(Role::Admin));
        }
        if let Some(entry) = self.cache.get(&hashed)
            && entry.1.elapsed() < Duration::from_secs(CACHE_SECONDS)
        {
            return Ok(entry.0);
        }
        let role = store.token_role(&hashed).await?;
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(hashed, (role, Instant::now()));
        Ok(role)
    }

    /// Forgets cached answers (after a token is revoked through the API).
    pub fn forget_all(&self) {
        self.cache.clear();
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub role: Role,
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
        match state.auth.role_of(state.store.as_ref(), &presented).await? {
            Some(role) => Ok(Caller { role }),
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

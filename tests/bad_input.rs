//! Malformed and invalid requests against the real server, on SQLite and
//! PostgreSQL: one table of requests, each with the exact status, error
//! `code` and (for field errors) `details.field` the contract demands, and
//! the contract's error shape. Data is seeded first; after the table the
//! stored data must be exactly as before, since a rejected request changes
//! nothing.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, count_rows, query_strings, ticket};

/// The NDJSON limit the table's server runs with (a `--config` file).
const INGEST_LIMIT: usize = 64 * 1024;
/// The default JSON body limit (1 MiB).
const BODY_LIMIT: usize = 1 << 20;

/// How a request authenticates.
enum Auth {
    None,
    Bearer(String),
    /// A raw `Authorization` header value.
    Header(&'static str),
}

/// What a request carries.
enum Body {
    None,
    /// Sent as `application/json`.
    Json(Value),
    /// Exact bytes with an optional content type.
    Raw(Option<&'static str>, Vec<u8>),
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    auth: Auth,
    body: Body,
    status: u16,
    code: &'static str,
    /// `details.field` expected on a 422 (and on field-specific 409s).
    field: Option<&'static str>,
}

struct Tokens {
    admin: String,
    lead: String,
    agent: String,
    integration: String,
    display: String,
}

/// Ids of the seeded data the table refers to.
struct Seed {
    /// Opened 07:00, moved to in_progress at 08:00.
    open_id: String,
    /// Created closed (resolved 07:10).
    closed_id: String,
}

/// One table row: `row!(name, METHOD path, auth, body => status "code")`,
/// with `, "field"` after the code when `details.field` must name a field.
macro_rules! row {
    ($name:expr, $method:ident $path:expr, $auth:expr, $body:expr => $status:literal $code:literal $(, $field:literal)?) => {
        Case {
            name: $name,
            method: Method::$method,
            path: String::from($path),
            auth: $auth,
            body: $body,
            status: $status,
            code: $code,
            field: row!(@field $($field)?),
        }
    };
    (@field) => { None };
    (@field $field:literal) => { Some($field) };
}

/// `body` without `key`.
fn without(mut body: Value, key: &str) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.remove(key);
    }
    body
}

/// `base` with the keys of `overrides` set.
fn merged(mut base: Value, overrides: Value) -> Value {
    if let (Some(b), Some(o)) = (base.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// A valid call event body with `overrides` applied.
fn call(overrides: Value) -> Value {
    merged(
        json!({"call_id": "c-new", "queue": "Physician Line", "event": "offered",
            "at": "2026-03-02T07:30:00Z"}),
        overrides,
    )
}

fn table(t: &Tokens, seed: &Seed) -> Vec<Case> {
    let admin = || Auth::Bearer(t.admin.clone());
    let lead = || Auth::Bearer(t.lead.clone());
    let agent = || Auth::Bearer(t.agent.clone());
    let feed = || Auth::Bearer(t.integration.clone());
    let display = || Auth::Bearer(t.display.clone());
    let json_raw = |text: &str| Body::Raw(Some("application/json"), text.as_bytes().to_vec());
    let tk = |overrides: Value| Body::Json(ticket(overrides));
    let cl = |overrides: Value| Body::Json(call(overrides));
    let js = Body::Json;
    const TICKETS: &str = "/api/v1/tickets";
    const CALLS: &str = "/api/v1/calls/events";
    const QUEUE: &str = "/api/v1/queues/Physician%20Line";
    let open = format!("{TICKETS}/{}", seed.open_id);
    let closed = format!("{TICKETS}/{}", seed.closed_id);
    let long_name = "x".repeat(65);
    // A day ahead: far past the default allowance for clock skew (5 min).
    let future = (chrono::Utc::now() + chrono::TimeDelta::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let site_twice = r#"{"site": "Main Campus", "site": "North", "department": "Emergency",
        "application": "Orders", "category": "how_to", "severity": 3, "channel": "phone"}"#;
    // serde would read an array as the struct's fields in declaration order.
    let positional = r#"[null, null, "Main Campus", "Emergency", "Orders", "how_to", 3, "phone",
        null, null, null, null, null, null]"#;

    vec![
        // --- not JSON, or not a JSON object -------------------------------
        row!("truncated JSON", POST TICKETS, admin(), json_raw(r#"{"site": "#)
            => 400 "malformed_json"),
        row!("not JSON at all", POST TICKETS, admin(), json_raw("hello") => 400 "malformed_json"),
        row!("empty body", POST TICKETS, admin(), json_raw("") => 400 "malformed_json"),
        row!("trailing garbage", POST TICKETS, admin(),
            json_raw(&format!("{} {{", ticket(json!({}))))
            => 400 "malformed_json"),
        row!("body is an empty array", POST TICKETS, admin(), json_raw("[]")
            => 400 "malformed_json"),
        row!("body is an array of the fields in order", POST TICKETS, admin(),
            json_raw(positional)
            => 400 "malformed_json"),
        row!("body is a string", POST TICKETS, admin(), json_raw(r#""ticket""#)
            => 400 "malformed_json"),
        row!("body is null", POST TICKETS, admin(), json_raw("null") => 400 "malformed_json"),
        row!("body is a number", POST TICKETS, admin(), json_raw("42") => 400 "malformed_json"),
        row!("PATCH body is an array", PATCH open.clone(), admin(), json_raw("[]")
            => 400 "malformed_json"),
        // --- wrong types and values ---------------------------------------
        row!("severity as a string", POST TICKETS, admin(), tk(json!({"severity": "3"}))
            => 422 "invalid_type", "severity"),
        row!("severity 3.5", POST TICKETS, admin(), tk(json!({"severity": 3.5}))
            => 422 "invalid_type", "severity"),
        row!("severity null", POST TICKETS, admin(), tk(json!({"severity": null}))
            => 422 "invalid_type", "severity"),
        row!("severity 0", POST TICKETS, admin(), tk(json!({"severity": 0}))
            => 422 "invalid_field", "severity"),
        row!("severity 5", POST TICKETS, admin(), tk(json!({"severity": 5}))
            => 422 "invalid_field", "severity"),
        row!("severity 300", POST TICKETS, admin(), tk(json!({"severity": 300}))
            => 422 "invalid_field", "severity"),
        row!("unknown category", POST TICKETS, admin(), tk(json!({"category": "howto"}))
            => 422 "invalid_field", "category"),
        row!("unknown channel", POST TICKETS, admin(), tk(json!({"channel": "fax"}))
            => 422 "invalid_field", "channel"),
        row!("unknown status", POST TICKETS, admin(), tk(json!({"status": "done"}))
            => 422 "invalid_field", "status"),
        row!("site as a number", POST TICKETS, admin(), tk(json!({"site": 7}))
            => 422 "invalid_type", "site"),
        row!("typo sevrity", POST TICKETS, admin(),
            Body::Json(merged(without(ticket(json!({})), "severity"), json!({"sevrity": 3})))
            => 422 "unknown_field", "sevrity"),
        row!("extra unknown field", POST TICKETS, admin(), tk(json!({"priority": "high"}))
            => 422 "unknown_field", "priority"),
        row!("missing site", POST TICKETS, admin(), Body::Json(without(ticket(json!({})), "site"))
            => 422 "missing_field", "site"),
        row!("missing severity", POST TICKETS, admin(), Body::Json(without(ticket(json!({})), "severity"))
            => 422 "missing_field", "severity"),
        // --- names and text -----------------------------------------------
        row!("empty site", POST TICKETS, admin(), tk(json!({"site": ""}))
            => 422 "invalid_field", "site"),
        row!("empty department", POST TICKETS, admin(), tk(json!({"department": ""}))
            => 422 "invalid_field", "department"),
        row!("empty application", POST TICKETS, admin(), tk(json!({"application": ""}))
            => 422 "invalid_field", "application"),
        row!("whitespace-only site", POST TICKETS, admin(), tk(json!({"site": "  "}))
            => 422 "invalid_field", "site"),
        row!("whitespace-only application", POST TICKETS, admin(), tk(json!({"application": " "}))
            => 422 "invalid_field", "application"),
        row!("65-char department", POST TICKETS, admin(), tk(json!({"department": long_name}))
            => 422 "invalid_field", "department"),
        row!("whitespace-only department", POST TICKETS, admin(),
            tk(json!({"department": "   \t "}))
            => 422 "invalid_field", "department"),
        row!("65-char application", POST TICKETS, admin(), tk(json!({"application": long_name}))
            => 422 "invalid_field", "application"),
        row!("65-char site", POST TICKETS, admin(), tk(json!({"site": long_name}))
            => 422 "invalid_field", "site"),
        row!("site with a control character", POST TICKETS, admin(),
            tk(json!({"site": "Main\u{7}Campus"}))
            => 422 "invalid_field", "site"),
        row!("summary of 4001 chars", POST TICKETS, admin(),
            tk(json!({"summary": "s".repeat(4001)}))
            => 422 "invalid_field", "summary"),
        row!("empty external_id", POST TICKETS, admin(), tk(json!({"external_id": " "}))
            => 422 "invalid_field", "external_id"),
        row!("tier 4 on create", POST TICKETS, admin(), tk(json!({"tier": 4}))
            => 422 "invalid_field", "tier"),
        // --- times ----------------------------------------------------------
        row!("resolved_at without a done status", POST TICKETS, admin(),
            tk(json!({"resolved_at": "2026-03-02T07:20:00Z"}))
            => 422 "invalid_field", "resolved_at"),
        row!("resolved_at before opened_at", POST TICKETS, admin(),
            tk(json!({"status": "resolved", "opened_at": "2026-03-02T07:20:00Z",
                "resolved_at": "2026-03-02T07:10:00Z"}))
            => 422 "invalid_field", "resolved_at"),
        row!("opened_at without offset", POST TICKETS, admin(),
            tk(json!({"opened_at": "2026-03-02T07:14:05"}))
            => 422 "invalid_timestamp", "opened_at"),
        row!("opened_at garbage", POST TICKETS, admin(), tk(json!({"opened_at": "yesterday"}))
            => 422 "invalid_timestamp", "opened_at"),
        row!("opened_at in 1970", POST TICKETS, admin(),
            tk(json!({"opened_at": "1970-01-01T00:00:00Z"}))
            => 422 "invalid_timestamp", "opened_at"),
        row!("opened_at as epoch millis", POST TICKETS, admin(),
            tk(json!({"opened_at": 1_772_435_645_000_i64}))
            => 422 "invalid_type", "opened_at"),
        row!("resolved_at garbage", POST TICKETS, admin(),
            tk(json!({"status": "closed", "resolved_at": "soon"}))
            => 422 "invalid_timestamp", "resolved_at"),
        // --- NUL, times from the future, keys given twice --------------------
        row!("NUL in summary", POST TICKETS, admin(), tk(json!({"summary": "a\u{0}b"}))
            => 422 "invalid_field", "summary"),
        row!("NUL in external_id", POST TICKETS, admin(), tk(json!({"external_id": "INC\u{0}1"}))
            => 422 "invalid_field", "external_id"),
        row!("NUL in a site", POST TICKETS, admin(), tk(json!({"site": "Main\u{0}"}))
            => 422 "invalid_field", "site"),
        row!("NUL in a call_id", POST CALLS, feed(), cl(json!({"call_id": "c\u{0}1"}))
            => 422 "invalid_field", "call_id"),
        row!("NUL in a token name", POST "/api/v1/tokens", admin(),
            js(json!({"role": "agent", "name": "desk\u{0}3"}))
            => 422 "invalid_field", "name"),
        row!("NUL in a list filter", GET format!("{TICKETS}?site=Main%00Campus"), agent(), Body::None
            => 422 "invalid_field", "site"),
        row!("opened_at a day ahead", POST TICKETS, admin(), tk(json!({"opened_at": future}))
            => 422 "timestamp_in_future", "opened_at"),
        row!("call at a day ahead", POST CALLS, feed(), cl(json!({"at": future}))
            => 422 "timestamp_in_future", "at"),
        row!("PATCH at a day ahead", PATCH open.clone(), agent(),
            js(json!({"status": "pending", "at": future}))
            => 422 "timestamp_in_future", "at"),
        row!("site given twice", POST TICKETS, admin(), json_raw(site_twice)
            => 422 "duplicate_field", "site"),
        // --- PATCH ----------------------------------------------------------
        row!("PATCH unknown id", PATCH format!("{TICKETS}/999999"), admin(),
            js(json!({"status": "resolved"}))
            => 404 "not_found"),
        row!("PATCH non-numeric id", PATCH format!("{TICKETS}/INC0012345"), admin(),
            js(json!({"status": "resolved"}))
            => 404 "not_found"),
        row!("PATCH negative id", PATCH format!("{TICKETS}/-1"), admin(),
            js(json!({"status": "resolved"}))
            => 404 "not_found"),
        row!("PATCH with an empty body {}", PATCH open.clone(), admin(), js(json!({}))
            => 422 "empty_patch", "status"),
        row!("PATCH with only at", PATCH open.clone(), admin(),
            js(json!({"at": "2026-03-02T09:00:00Z"}))
            => 422 "empty_patch", "status"),
        row!("PATCH at before opened_at", PATCH open.clone(), agent(),
            js(json!({"status": "pending", "at": "2026-03-02T06:00:00Z"}))
            => 422 "invalid_field", "at"),
        row!("stale PATCH", PATCH open.clone(), agent(),
            js(json!({"status": "pending", "at": "2026-03-02T07:30:00Z"}))
            => 409 "stale_change", "at"),
        row!("closed to resolved", PATCH closed.clone(), agent(),
            js(json!({"status": "resolved", "at": "2026-03-02T09:00:00Z"}))
            => 409 "invalid_transition", "status"),
        row!("PATCH tier 4", PATCH open.clone(), agent(), js(json!({"tier": 4}))
            => 422 "invalid_field", "tier"),
        row!("PATCH unknown status", PATCH open.clone(), agent(), js(json!({"status": "finished"}))
            => 422 "invalid_field", "status"),
        row!("PATCH unknown field", PATCH open.clone(), agent(), js(json!({"state": "resolved"}))
            => 422 "unknown_field", "state"),
        row!("PATCH at garbage", PATCH open.clone(), agent(),
            js(json!({"status": "pending", "at": "later"}))
            => 422 "invalid_timestamp", "at"),
        row!("PATCH empty assignee", PATCH open.clone(), agent(), js(json!({"assignee": ""}))
            => 422 "invalid_field", "assignee"),
        row!("GET non-numeric ticket id", GET format!("{TICKETS}/abc"), agent(), Body::None
            => 404 "not_found"),
        row!("GET unknown ticket id", GET format!("{TICKETS}/999999"), agent(), Body::None
            => 404 "not_found"),
        // --- ticket list queries -------------------------------------------
        row!("list limit 0", GET format!("{TICKETS}?limit=0"), agent(), Body::None
            => 422 "invalid_field", "limit"),
        row!("list limit 501", GET format!("{TICKETS}?limit=501"), agent(), Body::None
            => 422 "invalid_field", "limit"),
        row!("list limit not a number", GET format!("{TICKETS}?limit=ten"), agent(), Body::None
            => 422 "invalid_parameter", "limit"),
        row!("list unknown status", GET format!("{TICKETS}?status=done"), agent(), Body::None
            => 422 "invalid_field", "status"),
        row!("list bad cursor", GET format!("{TICKETS}?cursor=abc"), agent(), Body::None
            => 422 "invalid_field", "cursor"),
        row!("list unknown parameter", GET format!("{TICKETS}?sort=asc"), agent(), Body::None
            => 422 "invalid_parameter", "sort"),
        // --- calls ----------------------------------------------------------
        row!("answered before offered in time", POST CALLS, feed(),
            cl(json!({"call_id": "c-offered", "queue": "Nursing Line", "event": "answered",
                "at": "2026-03-02T07:10:00Z"}))
            => 422 "impossible_call_sequence", "event"),
        row!("ended before the leg was offered", POST CALLS, feed(),
            cl(json!({"call_id": "c-offered", "queue": "Nursing Line", "event": "ended",
                "at": "2026-03-02T07:14:00Z"}))
            => 422 "impossible_call_sequence", "event"),
        row!("abandoned after answered", POST CALLS, feed(),
            cl(json!({"call_id": "c-answered", "event": "abandoned", "at": "2026-03-02T07:16:00Z"}))
            => 422 "impossible_call_sequence", "event"),
        row!("ended before answered in time", POST CALLS, feed(),
            cl(json!({"call_id": "c-answered", "event": "ended", "at": "2026-03-02T07:14:10Z"}))
            => 422 "impossible_call_sequence", "event"),
        row!("negative wrap_seconds", POST CALLS, feed(),
            cl(json!({"call_id": "c-answered", "event": "ended", "at": "2026-03-02T07:20:00Z",
                "wrap_seconds": -5}))
            => 422 "invalid_field", "wrap_seconds"),
        row!("call without at", POST CALLS, feed(),
            Body::Json(without(call(json!({})), "at"))
            => 422 "missing_field", "at"),
        row!("unknown call event", POST CALLS, feed(), cl(json!({"event": "transferred"}))
            => 422 "invalid_field", "event"),
        row!("call at without offset", POST CALLS, feed(), cl(json!({"at": "2026-03-02 07:30:00"}))
            => 422 "invalid_timestamp", "at"),
        row!("empty call_id", POST CALLS, feed(), cl(json!({"call_id": ""}))
            => 422 "invalid_field", "call_id"),
        row!("65-char queue", POST CALLS, feed(), cl(json!({"queue": long_name}))
            => 422 "invalid_field", "queue"),
        // --- queue settings -------------------------------------------------
        row!("shrinkage 1.0", PUT QUEUE, lead(), js(json!({"shrinkage": 1.0}))
            => 422 "invalid_field", "shrinkage"),
        row!("service_level_target 0", PUT QUEUE, lead(), js(json!({"service_level_target": 0}))
            => 422 "invalid_field", "service_level_target"),
        row!("max_occupancy 1.5", PUT QUEUE, lead(), js(json!({"max_occupancy": 1.5}))
            => 422 "invalid_field", "max_occupancy"),
        row!("negative agents_staffed", PUT QUEUE, lead(), js(json!({"agents_staffed": -1}))
            => 422 "invalid_field", "agents_staffed"),
        row!("negative answer target", PUT QUEUE, lead(), js(json!({"answer_target_seconds": -20}))
            => 422 "invalid_field", "answer_target_seconds"),
        row!("answer target as a string", PUT QUEUE, lead(),
            js(json!({"answer_target_seconds": "20"}))
            => 422 "invalid_type", "answer_target_seconds"),
        row!("queue setting typo", PUT QUEUE, lead(), js(json!({"agents": 3}))
            => 422 "unknown_field", "agents"),
        row!("65-char queue name in the path", PUT format!("/api/v1/queues/{long_name}"), lead(),
            js(json!({"agents_staffed": 3}))
            => 422 "invalid_field", "queue"),
        // --- authentication and roles ---------------------------------------
        row!("missing token", POST TICKETS, Auth::None, tk(json!({})) => 401 "unauthorized"),
        row!("bad token", POST TICKETS, Auth::Header("Bearer not-a-real-token"), tk(json!({}))
            => 401 "unauthorized"),
        row!("Basic auth", POST TICKETS, Auth::Header("Basic YWRtaW46YWRtaW4="), tk(json!({}))
            => 401 "unauthorized"),
        row!("Bearer without a token", POST TICKETS, Auth::Header("Bearer "), tk(json!({}))
            => 401 "unauthorized"),
        row!("missing token on a read", GET TICKETS, Auth::None, Body::None => 401 "unauthorized"),
        row!("query token on a write", POST format!("{TICKETS}?token={ADMIN_TOKEN}"), Auth::None,
            tk(json!({}))
            => 401 "unauthorized"),
        row!("display posts a ticket", POST TICKETS, display(), tk(json!({})) => 403 "forbidden"),
        row!("display posts an invalid ticket", POST TICKETS, display(), tk(json!({"severity": 9}))
            => 403 "forbidden"),
        row!("display posts a ticket as text/plain", POST TICKETS, display(),
            Body::Raw(Some("text/plain"), b"hello".to_vec())
            => 403 "forbidden"),
        row!("display lists tickets with a bad limit", GET format!("{TICKETS}?limit=0"), display(),
            Body::None
            => 403 "forbidden"),
        row!("agent posts a malformed call event", POST CALLS, agent(), json_raw("{")
            => 403 "forbidden"),
        row!("display patches a ticket", PATCH open.clone(), display(),
            js(json!({"status": "resolved"}))
            => 403 "forbidden"),
        row!("display reads tickets", GET TICKETS, display(), Body::None => 403 "forbidden"),
        row!("agent posts a call event", POST CALLS, agent(), cl(json!({})) => 403 "forbidden"),
        row!("agent sets a queue", PUT QUEUE, agent(), js(json!({"agents_staffed": 3}))
            => 403 "forbidden"),
        row!("integration sets shrinkage", PUT QUEUE, feed(),
            js(json!({"agents_staffed": 3, "shrinkage": 0.2}))
            => 403 "forbidden"),
        row!("integration sets the answer target", PUT QUEUE, feed(),
            js(json!({"answer_target_seconds": 30}))
            => 403 "forbidden"),
        row!("integration sets a bad staffed count", PUT QUEUE, feed(),
            js(json!({"agents_staffed": 100001}))
            => 422 "invalid_field", "agents_staffed"),
        row!("agent bulk ingest", POST "/api/v1/ingest", agent(),
            Body::Raw(Some("application/x-ndjson"), b"{}\n".to_vec())
            => 403 "forbidden"),
        row!("agent bulk ingest as JSON", POST "/api/v1/ingest", agent(),
            js(json!({"kind": "ticket"}))
            => 403 "forbidden"),
        row!("lead creates a token", POST "/api/v1/tokens", lead(),
            js(json!({"role": "admin", "name": "sneaky"}))
            => 403 "forbidden"),
        // --- tokens ---------------------------------------------------------
        row!("token with unknown role", POST "/api/v1/tokens", admin(),
            js(json!({"role": "wizard", "name": "w"}))
            => 422 "invalid_field", "role"),
        row!("token with empty name", POST "/api/v1/tokens", admin(),
            js(json!({"role": "agent", "name": " "}))
            => 422 "invalid_field", "name"),
        row!("revoke unknown token", DELETE "/api/v1/tokens/999999", admin(), Body::None
            => 404 "not_found"),
        row!("revoke non-numeric token id", DELETE "/api/v1/tokens/abc", admin(), Body::None
            => 404 "not_found"),
        // --- media types and sizes ------------------------------------------
        row!("JSON as text/plain", POST TICKETS, admin(),
            Body::Raw(Some("text/plain"), ticket(json!({})).to_string().into_bytes())
            => 415 "unsupported_media_type"),
        row!("JSON without a content type", POST TICKETS, admin(),
            Body::Raw(None, ticket(json!({})).to_string().into_bytes())
            => 415 "unsupported_media_type"),
        row!("PATCH as form data", PATCH open.clone(), admin(),
            Body::Raw(Some("application/x-www-form-urlencoded"), b"status=resolved".to_vec())
            => 415 "unsupported_media_type"),
        row!("NDJSON sent as application/json", POST "/api/v1/ingest", feed(),
            Body::Raw(Some("application/json"), ticket(json!({"kind": "ticket"})).to_string().into_bytes())
            => 415 "unsupported_media_type"),
        row!("JSON body over 1 MiB", POST TICKETS, admin(),
            Body::Raw(Some("application/json"), oversized_json())
            => 413 "payload_too_large"),
        row!("NDJSON over the ingest limit", POST "/api/v1/ingest", feed(),
            Body::Raw(Some("application/x-ndjson"), oversized_ndjson())
            => 413 "payload_too_large"),
        // --- routes ---------------------------------------------------------
        row!("unknown route", GET "/api/v1/nope", admin(), Body::None => 404 "route_not_found"),
        row!("unknown route without a token", POST "/api/v2/tickets", Auth::None, tk(json!({}))
            => 404 "route_not_found"),
        row!("DELETE on the ticket list", DELETE TICKETS, admin(), Body::None
            => 405 "method_not_allowed"),
        row!("GET on call events", GET CALLS, admin(), Body::None => 405 "method_not_allowed"),
        row!("POST on a queue", POST QUEUE, lead(), js(json!({"agents_staffed": 3}))
            => 405 "method_not_allowed"),
        row!("path segment that is not UTF-8", GET format!("{TICKETS}/%FF"), agent(), Body::None
            => 400 "bad_request"),
        row!("plain GET on the live socket", GET "/api/v1/live", display(), Body::None
            => 400 "bad_request"),
        row!("URI over 8 KiB", GET format!("{TICKETS}?site={}", "x".repeat(9000)), agent(),
            Body::None
            => 414 "uri_too_long"),
    ]
}

/// A valid ticket whose summary pads it past the JSON body limit.
fn oversized_json() -> Vec<u8> {
    ticket(json!({"summary": "x".repeat(BODY_LIMIT + 1024)}))
        .to_string()
        .into_bytes()
}

/// Valid ticket lines, together past the ingest limit.
fn oversized_ndjson() -> Vec<u8> {
    let mut out = String::new();
    let mut n = 0;
    while out.len() <= INGEST_LIMIT + 1024 {
        let line = ticket(json!({"kind": "ticket", "external_id": format!("BIG-{n}")}));
        out.push_str(&line.to_string());
        out.push('\n');
        n += 1;
    }
    out.into_bytes()
}

/// Everything a rejected request must leave untouched.
#[derive(Debug, PartialEq)]
struct Snapshot {
    events: i64,
    last_seq: i64,
    tickets: Vec<Value>,
    ticket_rows: i64,
    calls: Vec<String>,
    queues: Value,
    tokens: Value,
}

async fn snapshot(server: &Server, db: &TestDb) -> Snapshot {
    let (status, queues) = server.get("/api/v1/queues").await;
    assert_eq!(status, StatusCode::OK);
    let (status, tokens) = server.get("/api/v1/tokens").await;
    assert_eq!(status, StatusCode::OK);
    Snapshot {
        events: count_rows(&db.url, support::REQUEST_EVENTS).await,
        last_seq: count_rows(&db.url, support::LAST_REQUEST_SEQ).await,
        tickets: server.all_tickets().await,
        ticket_rows: count_rows(&db.url, "SELECT COUNT(*) FROM tickets").await,
        calls: query_strings(
            &db.url,
            "SELECT call_id || '|' || queue || '|' || COALESCE(CAST(offered_at AS TEXT), '-') || '|' \
             || COALESCE(CAST(answered_at AS TEXT), '-') || '|' || COALESCE(CAST(abandoned_at AS TEXT), '-') \
             || '|' || COALESCE(CAST(ended_at AS TEXT), '-') || '|' || COALESCE(agent, '-') || '|' \
             || COALESCE(CAST(wrap_seconds AS TEXT), '-') FROM calls ORDER BY call_id",
        )
        .await,
        queues,
        tokens,
    }
}

async fn seed(server: &Server, t: &Tokens) -> Seed {
    let post = |path: &'static str, token: String, body: Value| async move {
        server
            .call(Method::POST, path, Some(&token), Some(&body))
            .await
    };
    let (status, open) = post(
        "/api/v1/tickets",
        t.agent.clone(),
        ticket(
            json!({"external_id": "SEED-1", "opened_at": "2026-03-02T07:00:00Z",
            "summary": "cannot sign orders"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{open}");
    let open_id = open["id"].as_str().expect("id").to_string();
    let (status, moved) = server
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{open_id}"),
            Some(&t.agent),
            Some(&json!({"status": "in_progress", "at": "2026-03-02T08:00:00Z", "assignee": "desk-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let (status, closed) = post(
        "/api/v1/tickets",
        t.agent.clone(),
        ticket(
            json!({"external_id": "SEED-2", "opened_at": "2026-03-02T07:00:00Z",
            "status": "closed", "resolved_at": "2026-03-02T07:10:00Z", "application": "MAR"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{closed}");
    let (status, _) = post(
        "/api/v1/tickets",
        t.integration.clone(),
        ticket(json!({"site": "North Hospital", "severity": 1, "channel": "ate"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for body in [
        json!({"call_id": "c-answered", "queue": "Physician Line", "event": "offered", "at": "2026-03-02T07:14:05Z"}),
        json!({"call_id": "c-answered", "queue": "Physician Line", "event": "answered", "at": "2026-03-02T07:14:20Z", "agent": "a-1"}),
        json!({"call_id": "c-offered", "queue": "Nursing Line", "event": "offered", "at": "2026-03-02T07:14:05Z"}),
    ] {
        let (status, answer) = post("/api/v1/calls/events", t.integration.clone(), body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    }
    let (status, answer) = server
        .call(
            Method::PUT,
            "/api/v1/queues/Physician%20Line",
            Some(&t.lead),
            Some(&json!({"agents_staffed": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    Seed {
        open_id,
        closed_id: closed["id"].as_str().expect("id").to_string(),
    }
}

/// Checks one answer against its row; returns what is wrong, if anything.
fn check(
    case: &Case,
    status: StatusCode,
    content_type: Option<&str>,
    body: &Value,
) -> Option<String> {
    let mut problems = Vec::new();
    if status.as_u16() != case.status {
        problems.push(format!(
            "status {} (expected {})",
            status.as_u16(),
            case.status
        ));
    }
    if !content_type.is_some_and(|c| c.starts_with("application/json")) {
        problems.push(format!("content type {content_type:?}"));
    }
    let error = &body["error"];
    if error["code"] != case.code {
        problems.push(format!("code {} (expected {})", error["code"], case.code));
    }
    if error["message"]
        .as_str()
        .is_none_or(|m| m.trim().is_empty())
    {
        problems.push("no message".into());
    }
    if let Some(map) = body.as_object()
        && map.len() != 1
    {
        problems.push("more than `error` at the top level".into());
    }
    if !error["details"].is_object() {
        problems.push("no details object".into());
    }
    if let Some(keys) = error.as_object()
        && let Some(extra) = keys
            .keys()
            .find(|k| !["code", "message", "details"].contains(&k.as_str()))
    {
        problems.push(format!("unexpected key error.{extra}"));
    }
    match case.field {
        Some(field) if error["details"]["field"] != field => problems.push(format!(
            "details.field {} (expected {field})",
            error["details"]["field"]
        )),
        None if case.status == 422 => problems.push("422 rows must name a field".into()),
        _ => {}
    }
    if case.status == 422 && !error["details"]["field"].is_string() {
        problems.push("422 without details.field".into());
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{} ({} {}): {}; body {body}",
            case.name,
            case.method,
            case.path.chars().take(80).collect::<String>(),
            problems.join(", ")
        )
    })
}

async fn bad_input(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("golive.toml");
    std::fs::write(&config, format!("max_ingest_bytes = {INGEST_LIMIT}\n")).expect("config");
    let config = config.display().to_string();
    let server = Server::start_with(&db, &["--config", &config], &[]).await;
    let tokens = Tokens {
        admin: ADMIN_TOKEN.to_string(),
        lead: server.token("lead").await,
        agent: server.token("agent").await,
        integration: server.token("integration").await,
        display: server.token("display").await,
    };
    let seed = seed(&server, &tokens).await;
    let before = snapshot(&server, &db).await;
    assert_eq!(
        before.events, 8,
        "seeded: 3 tickets, 1 change, 3 call events, 1 queue"
    );

    let cases = table(&tokens, &seed);
    assert!(cases.len() >= 35, "{} rows", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let authorization = match &case.auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
            Auth::Header(value) => Some((*value).to_string()),
        };
        let (content_type, bytes) = match &case.body {
            Body::None => (None, None),
            Body::Json(value) => (
                Some("application/json"),
                Some(value.to_string().into_bytes()),
            ),
            Body::Raw(content_type, bytes) => (*content_type, Some(bytes.clone())),
        };
        let (status, response_type, body) = server
            .raw(
                case.method.clone(),
                &case.path,
                authorization.as_deref(),
                content_type,
                bytes,
            )
            .await;
        if let Some(problem) = check(case, status, response_type.as_deref(), &body) {
            failures.push(problem);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows disagree with the contract:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    let after = snapshot(&server, &db).await;
    assert_eq!(after, before, "rejected requests changed stored data");

    // The server is still healthy and accepts a valid write afterwards.
    let (status, created) = server
        .post("/api/v1/tickets", &ticket(json!({"external_id": "AFTER"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // The next in the log (after any alert the leader wrote meanwhile).
    let id: i64 = created["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("id");
    let last = count_rows(&db.url, "SELECT MAX(seq) FROM events").await;
    assert!(
        id > before.last_seq && id <= last,
        "{id} after {}",
        before.last_seq
    );
}
both_backends!(rejected, bad_input);

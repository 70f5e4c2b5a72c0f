//! The OpenAPI document against the real server: it is served, it is
//! OpenAPI 3.x, every documented operation exists (an anonymous request is
//! neither 404 `route_not_found` nor 405, secured operations answer 401, and
//! every answer's status is one the document lists), and real answers fit
//! the documented schemas.

mod support;

use golive_server::openapi::PENDING_PATHS;
use golive_server::routes::paths;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, ticket};

/// Fills a documented path's parameters with plausible values.
fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{queue}", "Physician%20Line")
        .replace("{file}", "app.css")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_exists() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let (status, doc) = server
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let documented = doc["paths"].as_object().expect("paths object");
    for path in paths::ALL {
        assert!(documented.contains_key(*path), "{path} undocumented");
    }

    let mut checked = 0;
    let mut problems = Vec::new();
    for (path, item) in documented {
        if !paths::ALL.contains(&path.as_str()) {
            assert!(
                PENDING_PATHS.contains(&path.as_str()),
                "{path} is documented but neither routed nor pending"
            );
            eprintln!("{path}: pending (not in routes::paths::ALL yet), not probed");
            continue;
        }
        for (method, op) in item.as_object().expect("path item") {
            let method = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let body =
                matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let (status, answer) = server
                .call(method.clone(), &concrete(path), None, body.as_ref())
                .await;
            checked += 1;
            let label = format!("{method} {path}");
            if status == StatusCode::METHOD_NOT_ALLOWED
                || (status == StatusCode::NOT_FOUND && answer["error"]["code"] == "route_not_found")
            {
                problems.push(format!("{label}: not routed ({status} {answer})"));
                continue;
            }
            let anonymous_ok = op["security"].as_array().is_none_or(|alternatives| {
                alternatives.is_empty()
                    || alternatives
                        .iter()
                        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            let websocket = op["responses"].get("101").is_some();
            if !anonymous_ok && !websocket {
                if status != StatusCode::UNAUTHORIZED || answer["error"]["code"] != "unauthorized" {
                    problems.push(format!("{label}: anonymous call got {status} {answer}"));
                }
            } else if !anonymous_ok && websocket {
                if ![
                    StatusCode::UNAUTHORIZED,
                    StatusCode::BAD_REQUEST,
                    StatusCode::UPGRADE_REQUIRED,
                ]
                .contains(&status)
                {
                    problems.push(format!("{label}: anonymous call got {status}"));
                }
            } else if !status.is_success() {
                problems.push(format!("{label}: open operation answered {status}"));
            }
            if op["responses"].get(status.as_str()).is_none() {
                problems.push(format!(
                    "{label}: answered {status}, which is not documented"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= paths::ALL.len(), "{checked} operations probed");
}

/// Real answers fit the schemas the document gives for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_documented_schemas() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let (_, doc) = server.get("/api/v1/openapi.json").await;
    let schema_of = |path: &str, method: &str, status: &str| -> Value {
        let mut response = &doc["paths"][path][method]["responses"][status];
        if let Some(target) = response["$ref"].as_str() {
            response = doc
                .pointer(target.trim_start_matches('#'))
                .unwrap_or(&Value::Null);
        }
        response["content"]["application/json"]["schema"].clone()
    };
    let mut problems = Vec::new();
    let mut check = |label: &str, schema: Value, value: &Value| {
        assert!(!schema.is_null(), "{label}: no schema documented");
        if let Err(problem) = validate(&doc, &schema, value, "$") {
            problems.push(format!("{label}: {problem}; value {value}"));
        }
    };

    let full = ticket(
        json!({"external_id": "S-1", "summary": "text", "reporter_role": "nurse",
        "opened_at": "2026-03-02T07:00:00Z"}),
    );
    let (status, created) = server.post("/api/v1/tickets", &full).await;
    assert_eq!(status, StatusCode::CREATED);
    check(
        "POST tickets 201",
        schema_of(paths::TICKETS, "post", "201"),
        &created,
    );
    let (status, again) = server.post("/api/v1/tickets", &full).await;
    assert_eq!(status, StatusCode::OK);
    check(
        "POST tickets 200",
        schema_of(paths::TICKETS, "post", "200"),
        &again,
    );
    let id = created["id"].as_str().expect("id");
    let (status, changed) = server
        .patch(
            &format!("/api/v1/tickets/{id}"),
            &json!({"status": "resolved", "at": "2026-03-02T07:30:00Z", "tier": 2, "assignee": "d"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    check(
        "PATCH ticket",
        schema_of(paths::TICKET, "patch", "200"),
        &changed,
    );
    let (_, page) = server.get("/api/v1/tickets?limit=1").await;
    check(
        "GET tickets",
        schema_of(paths::TICKETS, "get", "200"),
        &page,
    );
    let (_, one) = server.get(&format!("/api/v1/tickets/{id}")).await;
    check("GET ticket", schema_of(paths::TICKET, "get", "200"), &one);

    let (status, accepted) = server
        .post(
            "/api/v1/calls/events",
            &json!({"call_id": "c", "queue": "Physician Line", "event": "offered", "at": "2026-03-02T07:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    check(
        "POST call",
        schema_of(paths::CALL_EVENTS, "post", "202"),
        &accepted,
    );
    let (_, queue) = server
        .put(
            "/api/v1/queues/Physician%20Line",
            &json!({"agents_staffed": 3}),
        )
        .await;
    check("PUT queue", schema_of(paths::QUEUE, "put", "200"), &queue);
    let (_, queue) = server.get("/api/v1/queues/Nursing%20Line").await;
    check("GET queue", schema_of(paths::QUEUE, "get", "200"), &queue);
    let (_, queues) = server.get("/api/v1/queues").await;
    check(
        "GET queues",
        schema_of(paths::QUEUES, "get", "200"),
        &queues,
    );

    let (_, ingested) = server
        .ingest(
            ADMIN_TOKEN,
            format!(
                "{}\n{{\"kind\":\"nope\"}}\n",
                ticket(json!({"kind": "ticket"}))
            ),
        )
        .await;
    check(
        "POST ingest",
        schema_of(paths::INGEST, "post", "200"),
        &ingested,
    );

    let (status, token) = server
        .post(
            "/api/v1/tokens",
            &json!({"role": "display", "name": "wall"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    check(
        "POST token",
        schema_of(paths::TOKENS, "post", "201"),
        &token,
    );
    let (_, session) = server
        .call(
            Method::GET,
            "/api/v1/session",
            token["token"].as_str(),
            None,
        )
        .await;
    check(
        "GET session",
        schema_of(paths::SESSION, "get", "200"),
        &session,
    );
    let token_id = token["id"].as_i64().expect("token id");
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{token_id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, tokens) = server.get("/api/v1/tokens").await;
    check(
        "GET tokens",
        schema_of(paths::TOKENS, "get", "200"),
        &tokens,
    );
    assert!(
        tokens["tokens"][0]["revoked_at"].is_string(),
        "revoked token listed with its time: {tokens}"
    );

    let (_, board) = server.get("/api/v1/board").await;
    check("GET board", schema_of(paths::BOARD, "get", "200"), &board);
    let (_, scoped) = server.get("/api/v1/board?queue=Physician%20Line").await;
    check(
        "GET board?queue=",
        schema_of(paths::BOARD, "get", "200"),
        &scoped,
    );
    let (status, error) = server.get("/api/v1/board?site=Nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    check(
        "GET board 404",
        schema_of(paths::BOARD, "get", "404"),
        &error,
    );

    let (_, health) = server.call(Method::GET, "/healthz", None, None).await;
    check(
        "GET healthz",
        schema_of(paths::HEALTHZ, "get", "200"),
        &health,
    );
    let (_, ready) = server.call(Method::GET, "/readyz", None, None).await;
    check("GET readyz", schema_of(paths::READYZ, "get", "200"), &ready);

    let (status, error) = server
        .post("/api/v1/tickets", &ticket(json!({"severity": 9})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    check("422", schema_of(paths::TICKETS, "post", "422"), &error);
    let (_, error) = server
        .call(Method::GET, "/api/v1/tickets", None, None)
        .await;
    check("401", schema_of(paths::TICKETS, "get", "401"), &error);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The check can fail: an undocumented key and a wrong type are caught.
    let mut extra = created.clone();
    extra["undocumented"] = json!(1);
    let schema = schema_of(paths::TICKETS, "post", "201");
    assert!(validate(&doc, &schema, &extra, "$").is_err());
    let mut wrong = created.clone();
    wrong["id"] = json!(true);
    assert!(validate(&doc, &schema, &wrong, "$").is_err());
}

/// Checks `value` against `schema` with a real JSON Schema 2020-12
/// validator (OpenAPI 3.1's dialect), the document's components beside it
/// so `$ref`s resolve. Stricter than the schemas alone: an object schema
/// that lists its properties must list every key an answer has (see
/// [`closed`]).
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let mut root = json!({ "allOf": [schema], "components": doc["components"] });
    closed(&mut root, false, doc);
    let validator = jsonschema::draft202012::new(&root)
        .map_err(|e| format!("{at}: the documented schema does not compile: {e}"))?;
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{at}{}: {e}", e.instance_path()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Makes undocumented keys an error: every schema with `properties` and no
/// `additionalProperties` gets `unevaluatedProperties: false`, except the
/// branches of an `allOf` (their parent gets it instead, so the branches'
/// properties together are the documented set); a branch that is a `$ref`
/// is inlined, open, since the component it names is closed on its own.
fn closed(schema: &mut Value, in_all_of: bool, doc: &Value) {
    match schema {
        Value::Object(map) => {
            let lists = map.contains_key("properties") || map.contains_key("allOf");
            if lists && !in_all_of && !map.contains_key("additionalProperties") {
                map.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            for (key, child) in map.iter_mut() {
                match key.as_str() {
                    // A map of names to schemas, not a schema.
                    "properties" | "schemas" => {
                        if let Value::Object(children) = child {
                            for grandchild in children.values_mut() {
                                closed(grandchild, false, doc);
                            }
                        }
                    }
                    "allOf" => {
                        if let Value::Array(branches) = child {
                            for branch in branches {
                                if let Some(target) = branch["$ref"].as_str()
                                    && let Some(named) = doc.pointer(target.trim_start_matches('#'))
                                {
                                    *branch = named.clone();
                                }
                                closed(branch, true, doc);
                            }
                        }
                    }
                    _ => closed(child, false, doc),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| closed(item, false, doc)),
        _ => {}
    }
}

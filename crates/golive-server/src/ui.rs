//! The web UI: the live board (`/`), the agent console (`/console`), the
//! staffing plan (`/plan`), the lead's page (`/lead`), the rollout waves
//! (`/waves`), the huddle report (`/huddle`) and their static assets,
//! compiled into the binary so a deployment is one
//! file. Plain HTML, CSS and JavaScript: no Node build step.

use crate::error::ApiError;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

const BOARD_HTML: &str = include_str!("../assets/board.html");
const CONSOLE_HTML: &str = include_str!("../assets/console.html");
const PLAN_HTML: &str = include_str!("../assets/plan.html");
const LEAD_HTML: &str = include_str!("../assets/lead.html");
const WAVES_HTML: &str = include_str!("../assets/waves.html");
const HUDDLE_HTML: &str = include_str!("../assets/huddle.html");
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/common.js"),
    ),
    (
        "board.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/board.js"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/console.js"),
    ),
    (
        "lead.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/lead.js"),
    ),
    (
        "fit.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/fit.js"),
    ),
    (
        "replay.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/replay.js"),
    ),
    (
        "plan.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/plan.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/charts.js"),
    ),
    (
        "waves.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/waves.js"),
    ),
    (
        "huddle.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/huddle.js"),
    ),
    (
        "report.css",
        "text/css; charset=utf-8",
        include_str!("../assets/report.css"),
    ),
];

/// `GET /`: the live board for command-center displays.
pub async fn board() -> Html<&'static str> {
    Html(BOARD_HTML)
}

/// `GET /console`: the agent ticket console.
pub async fn console() -> Html<&'static str> {
    Html(CONSOLE_HTML)
}

/// `GET /plan`: the staffing plan for the next shifts.
pub async fn plan() -> Html<&'static str> {
    Html(PLAN_HTML)
}

/// `GET /waves`: the rollout waves compared, hour by hour since each
/// wave's go-live.
pub async fn waves() -> Html<&'static str> {
    Html(WAVES_HTML)
}

/// `GET /huddle`: the printable daily huddle report.
pub async fn huddle() -> Html<&'static str> {
    Html(HUDDLE_HTML)
}

/// `GET /lead`: the lead's page (queues, alerts, tokens, wall screens).
pub async fn lead() -> Html<&'static str> {
    Html(LEAD_HTML)
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no asset named {file:?}"),
        )
        .into_response(),
    }
}

//! Headless Chromium for the browser tests: one chromedriver and one
//! browser session per `Browser`, with the helpers the tests share (run a
//! script, read text and attributes, type like a user, click, read the
//! console, take screenshots, resize the viewport exactly) and
//! `eventually`, which every wait uses instead of a fixed sleep.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium
//! chromium-driver`; other paths via `GOLIVE_CHROMIUM` /
//! `GOLIVE_CHROMEDRIVER`). A missing browser fails the tests when `CI` is
//! set (so CI cannot pass without running them) and skips them otherwise;
//! `GOLIVE_SKIP_BROWSER=1` always skips them.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use super::eventually;

/// How long any one UI condition may take to become true.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn skip_browser() -> bool {
    std::env::var("GOLIVE_SKIP_BROWSER").is_ok_and(|v| v == "1")
}

pub fn screenshots_wanted() -> bool {
    std::env::var("GOLIVE_SCREENSHOTS").is_ok_and(|v| v == "1")
}

/// The first of `env` (if set) or `candidates` that exists as a file, or
/// is found on PATH.
pub fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for candidate in candidates {
        let direct = Path::new(candidate);
        if direct.is_absolute() {
            if direct.is_file() {
                return Some(direct.to_path_buf());
            }
            continue;
        }
        for dir in &path_dirs {
            let full = dir.join(candidate);
            if full.is_file() {
                return Some(full);
            }
        }
    }
    None
}

/// Chromium itself (`GOLIVE_CHROMIUM`, else the usual names), for tests
/// that only load a page: `None` when the developer asked to skip or,
/// outside CI, when it is not installed; in CI a missing browser fails.
pub fn chromium() -> Option<PathBuf> {
    if skip_browser() {
        eprintln!("GOLIVE_SKIP_BROWSER=1: skipping the browser test");
        return None;
    }
    let found = find_program(
        "GOLIVE_CHROMIUM",
        &["/usr/bin/chromium", "chromium", "chromium-browser"],
    );
    if found.is_none() {
        // CI installs it (.ci/run), so there a missing browser is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium not found: apt-get install chromium, or set GOLIVE_CHROMIUM"
        );
        eprintln!("chromium not found: skipping (CI is not set)");
    }
    found
}

/// Loads `url` in headless Chromium (a fresh profile, `extra` arguments
/// saying what to do with the page) and waits, at most `limit`, for it to
/// exit; returns what it printed.
pub fn headless(chromium: &Path, url: &str, extra: &[String], limit: Duration) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
        ])
        .args(extra)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    // Read while it runs: a page larger than the pipe would block it.
    let mut stdout = child.stdout.take().expect("chromium stdout");
    let reader = std::thread::spawn(move || {
        let mut printed = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut printed);
        printed
    });
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("chromium status").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    String::from_utf8_lossy(&reader.join().expect("chromium output")).into_owned()
}

/// A headless Chromium session behind its own chromedriver. Dropping it
/// kills chromedriver's process group (chromedriver and the browsers it
/// started), so a failing test leaves nothing behind.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver was started as the leader of a new process group.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}

/// Starts chromedriver and a browser session; `None` when the developer
/// asked to skip (`GOLIVE_SKIP_BROWSER=1`) or, outside CI, when no browser
/// is installed. In CI a missing browser fails.
pub async fn browser() -> Option<Browser> {
    if skip_browser() {
        eprintln!("GOLIVE_SKIP_BROWSER=1: skipping the browser test");
        return None;
    }
    let chromium = find_program(
        "GOLIVE_CHROMIUM",
        &[
            "/usr/bin/chromium",
            "chromium",
            "chromium-browser",
            "google-chrome",
        ],
    );
    let chromedriver = find_program(
        "GOLIVE_CHROMEDRIVER",
        &["/usr/bin/chromedriver", "chromedriver"],
    );
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let message = "Chromium or chromedriver not found: install them (apt-get install \
             chromium chromium-driver), set GOLIVE_CHROMIUM / GOLIVE_CHROMEDRIVER, or set \
             GOLIVE_SKIP_BROWSER=1 to skip the browser tests";
        // CI installs them (.ci/run), so there a missing browser is a failure.
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("{message}: skipping (CI is not set)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut command = Command::new(&chromedriver);
    command
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let driver = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
    let driver_url = format!("http://127.0.0.1:{port}");
    let profile = tempfile::tempdir().expect("browser profile dir");
    let mut browser_guard = DriverGuard(Some(driver));

    // chromedriver is up when /status answers ready.
    let http = reqwest::Client::new();
    eventually("chromedriver to start", WAIT, || {
        let http = http.clone();
        let url = format!("{driver_url}/status");
        async move {
            let body: Value = http
                .get(url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if body["value"]["ready"] == true {
                Ok(())
            } else {
                Err(format!("not ready: {body}"))
            }
        }
    })
    .await;

    let args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--hide-scrollbars".into(),
        "--window-size=1920,1080".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium.to_string_lossy(), "args": args }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot start a Chromium session ({}): {e}",
                chromium.display()
            )
        });
    let driver = browser_guard.0.take().expect("driver");
    Some(Browser {
        client,
        driver,
        driver_url,
        _profile: profile,
    })
}

/// Kills chromedriver if setting up the session panics half-way.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
        }
    }
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.expect("script ran")
    }

    /// `textContent` of the first element matching `selector` (None if absent).
    pub async fn text(&self, selector: &str) -> Option<String> {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;",
            vec![json!(selector)],
        )
        .await
        .as_str()
        .map(str::to_string)
    }

    /// An attribute of the first element matching `selector`.
    pub async fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
            vec![json!(selector), json!(name)],
        )
        .await
        .as_str()
        .map(str::to_string)
    }

    /// Whether the element is shown (exists and is not `hidden` up the tree).
    pub async fn visible(&self, selector: &str) -> bool {
        self.js(
            "const e = document.querySelector(arguments[0]); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;",
            vec![json!(selector)],
        )
        .await
            == json!(true)
    }

    /// Waits until the element `selector` is shown.
    pub async fn wait_visible(&self, selector: &str) {
        eventually(&format!("{selector} on screen"), WAIT, || async {
            if self.visible(selector).await {
                Ok(())
            } else {
                Err("not shown".to_string())
            }
        })
        .await;
    }

    /// Whether the page's live feed is up (else the state it is in).
    pub async fn live_state(&self) -> Result<(), String> {
        match self
            .attr("[data-testid=conn]", "data-state")
            .await
            .as_deref()
        {
            Some("live") => Ok(()),
            other => Err(format!("connection state {other:?}")),
        }
    }

    /// Waits until the page's live feed is up.
    pub async fn wait_live(&self) {
        eventually("the live feed", WAIT, || self.live_state()).await;
    }

    /// Signs in to the agent console, opened with its token in the
    /// address: the form asks for the display name only, typed as an agent
    /// would, then Enter.
    pub async fn sign_in_console(&self, name: &str) {
        eventually("the sign-in form asking for a name", WAIT, || async {
            let focused = self
                .js(
                    "return document.activeElement && document.activeElement.id;",
                    vec![],
                )
                .await;
            if focused == json!("login-name") {
                Ok(())
            } else {
                Err(format!("focus on {focused}"))
            }
        })
        .await;
        self.type_keys(&format!("{name}{}", char::from(Key::Enter)))
            .await;
        eventually("the console after sign-in", WAIT, || async {
            match self.text("[data-testid=who-name]").await.as_deref() {
                Some(shown) if shown == name && self.visible("[data-testid=ticket-form]").await => {
                    Ok(())
                }
                other => Err(format!("signed in as {other:?}")),
            }
        })
        .await;
    }

    /// Types into whatever has focus, as a user at the keyboard would:
    /// every character pressed and released (WebDriver actions; special
    /// keys as `fantoccini::key::Key` characters).
    pub async fn type_keys(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".into());
        for c in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(keys).await.expect("keys typed");
        self.client.release_actions().await.expect("keys released");
    }

    /// A shortcut: `modifier` held while `key` is pressed (Alt+1, Ctrl+Enter).
    pub async fn chord(&self, modifier: Key, key: char) {
        let modifier = char::from(modifier);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: modifier })
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key })
            .then(KeyAction::Up { value: modifier });
        self.client
            .perform_actions(keys)
            .await
            .expect("chord typed");
        self.client.release_actions().await.expect("keys released");
    }

    /// A shortcut with several modifiers held (Alt+Shift+1).
    pub async fn chord_keys(&self, modifiers: &[Key], key: char) {
        let mut keys = KeyActions::new("keyboard".into());
        for modifier in modifiers {
            keys = keys.then(KeyAction::Down {
                value: char::from(*modifier),
            });
        }
        keys = keys
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        for modifier in modifiers.iter().rev() {
            keys = keys.then(KeyAction::Up {
                value: char::from(*modifier),
            });
        }
        self.client
            .perform_actions(keys)
            .await
            .expect("chord typed");
        self.client.release_actions().await.expect("keys released");
    }

    pub async fn click(&self, selector: &str) {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    /// The browser console since the last call (chromedriver's log API).
    pub async fn console_log(&self) -> Vec<Value> {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let response = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.driver_url))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .expect("log request");
        let body: Value = response.json().await.expect("log body");
        body["value"].as_array().cloned().unwrap_or_default()
    }

    /// Fails on any console error (uncaught exceptions, failed requests),
    /// and on ticket text in the console.
    pub async fn assert_clean_console(&self) {
        let entries = self.console_log().await;
        let errors: Vec<&Value> = entries.iter().filter(|e| e["level"] == "SEVERE").collect();
        assert!(errors.is_empty(), "browser console errors: {errors:#?}");
        let all = serde_json::to_string(&entries).unwrap_or_default();
        assert!(
            !all.contains("PHI-CANARY"),
            "ticket text reached the browser console"
        );
    }

    /// Sets the viewport (the page's `innerWidth` × `innerHeight`) to
    /// exactly `width` × `height`, whatever the window's frame takes.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let want = json!([width, height]);
        let inner = || self.js("return [window.innerWidth, window.innerHeight];", vec![]);
        for _ in 0..3 {
            let size = inner().await;
            if size == want {
                return;
            }
            let (outer_w, outer_h) = self.client.get_window_size().await.expect("window size");
            let shown_w = size[0].as_u64().unwrap_or(u64::from(width));
            let shown_h = size[1].as_u64().unwrap_or(u64::from(height));
            self.client
                .set_window_size(
                    (outer_w + u64::from(width)).saturating_sub(shown_w) as u32,
                    (outer_h + u64::from(height)).saturating_sub(shown_h) as u32,
                )
                .await
                .expect("resize window");
            // The page re-lays itself out on resize; wait for the new size.
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if inner().await == want {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("the viewport did not become {width}×{height}");
    }

    /// Saves the viewport as a picture, docs/NAME.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs")
            .join(name);
        std::fs::create_dir_all(path.parent().expect("docs dir")).expect("docs dir");
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("wrote {}", path.display());
    }

    pub async fn close(self) {
        let client = self.client.clone();
        let _ = client.close().await;
        drop(self);
    }
}

//! Command-line interface: flags, environment and the subcommands.

use crate::config;
use clap::{Parser, Subcommand};
use golive_core::input::token_name;
use golive_core::model::Role;
use golive_core::time::now_millis;
use golive_server::{ServeOptions, serve};
use golive_store::{Store, connect, connect_lazy, redact, token};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "golive",
    version,
    about = "Go-live command center metrics service"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GOLIVE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Database URL: sqlite://FILE (created if missing) or postgres://…
    /// (falls back to DATABASE_URL).
    #[arg(long, env = "GOLIVE_DATABASE_URL")]
    database: Option<String>,
    /// Optional TOML configuration file.
    #[arg(long, env = "GOLIVE_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Feed simulated traffic into a database that already holds events
    /// (without it, the demo refuses such a database: its fake tickets and
    /// calls would mix with real ones).
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args, Clone)]
pub struct DatabaseArgs {
    /// Database URL (falls back to GOLIVE_DATABASE_URL, DATABASE_URL,
    /// then sqlite://golive.db).
    #[arg(long, env = "GOLIVE_DATABASE_URL")]
    database: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Run the service on a fresh embedded database with simulated go-live
    /// traffic (or on `--database`, if it holds no events yet).
    Demo(DemoArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print it (it is shown only this once).
    Create {
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List tokens (without secrets).
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Revoke a token by id.
    Revoke {
        id: i64,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

const DEFAULT_DATABASE: &str = "sqlite://golive.db";

/// The database URL: `--database` (or `GOLIVE_DATABASE_URL`), else the file
/// `GOLIVE_DATABASE_URL_FILE` names, else `DATABASE_URL`, else SQLite.
fn database_url(flag: Option<String>) -> Result<String, String> {
    // Read first: setting both variables is an error even when the flag
    // (which clap fills from GOLIVE_DATABASE_URL) is there.
    let from_file = secret_from_file("GOLIVE_DATABASE_URL")?;
    if let Some(url) = flag.or(from_file) {
        return Ok(url);
    }
    Ok(std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE.to_string()))
}

/// A secret from the file that `{name}_FILE` names (a mounted Kubernetes
/// or Docker secret, so the value is not in the process environment),
/// without its trailing newline. Errors name the variable and the path,
/// never the contents.
fn secret_from_file(name: &str) -> Result<Option<String>, String> {
    let variable = format!("{name}_FILE");
    let Some(path) = std::env::var_os(&variable).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if std::env::var_os(name).is_some_and(|v| !v.is_empty()) {
        return Err(format!("both {name} and {variable} are set: use one"));
    }
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{variable}: cannot read {}: {e}", path.display()))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        return Err(format!("{variable}: {} is empty", path.display()));
    }
    Ok(Some(value.to_string()))
}

pub async fn run(args: Args) -> Result<(), String> {
    match args.command {
        Command::Serve(serve_args) => {
            let url = database_url(serve_args.database.clone())?;
            let config = config::load(serve_args.config.as_deref()).map_err(|e| e.to_string())?;
            // PostgreSQL may still be down: the server starts anyway (not
            // ready) and connects when it can.
            let store = connect_lazy(&url)
                .await
                .map_err(|e| format!("cannot open database {}: {e}", redact(&url)))?;
            run_server(
                serve_args,
                config,
                &url,
                store,
                admin_token_from_env()?,
                false,
            )
            .await
        }
        Command::Demo(demo_args) => run_demo(demo_args).await,
        Command::Migrate(db) => {
            let url = database_url(db.database)?;
            open(&url).await?;
            println!("database {} is up to date", redact(&url));
            Ok(())
        }
        Command::Token { action } => run_token(action).await,
    }
}

async fn open(url: &str) -> Result<Arc<dyn Store>, String> {
    connect(url)
        .await
        .map_err(|e| format!("cannot open database {}: {e}", redact(url)))
}

/// Runs the server until SIGTERM or Ctrl-C; in a demo, also the traffic
/// simulator, which feeds the public API with the admin token. The
/// configuration is already checked: nothing binds a port before that.
async fn run_server(
    args: ServeArgs,
    mut config: golive_server::ServerConfig,
    url: &str,
    store: Arc<dyn Store>,
    admin_token: Option<String>,
    demo: bool,
) -> Result<(), String> {
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to find the port (`--listen …:0`).
    println!(
        "golive listening on http://{address} (database: {}, {})",
        redact(url),
        store.backend()
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let (true, Some(token)) = (demo, admin_token.clone()) {
        println!("demo admin token: {token}");
        println!("live board: http://{address}/?token={token}");
        let sim = golive_sim::SimConfig::demo(format!("http://{address}"), token);
        // The plan's shifts start on the simulated hospital's clock.
        config.staffing.plan.utc_offset_minutes = sim.utc_offset_minutes;
        // The board counts the days from the simulated cutover.
        config.go_live_start.get_or_insert_with(|| {
            sim.go_live_start
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        });
        let mut stopped = stopped.clone();
        tokio::spawn(golive_sim::Simulator::new(sim).run(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
    }
    let options = ServeOptions {
        listener,
        store,
        admin_token,
        config,
    };
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    match serve(options, shutdown).await {
        // A demo's simulator would start over on a log it did not write.
        Err(golive_server::ServeError::LogReplaced(reason)) if !demo => {
            Err(format!("{reason}; {}", start_again(address)))
        }
        other => other.map_err(|e| e.to_string()),
    }
}

/// Starts golive again in this process (same PID, arguments and address),
/// so that it replays the log it now finds, every socket and cache of the
/// old one gone with it. Returns only if it cannot.
fn start_again(address: std::net::SocketAddr) -> String {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => return format!("cannot start again: {error}"),
    };
    // The address it listened on, not `--listen …:0` again.
    let mut args = Vec::new();
    let mut skip_value = false;
    for arg in std::env::args_os().skip(1) {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        match arg.to_str() {
            Some("--listen") => skip_value = true,
            Some(flag) if flag.starts_with("--listen=") => {}
            _ => args.push(arg),
        }
    }
    tracing::warn!(%address, "starting again to replay the event log");
    let error = std::process::Command::new(exe)
        .args(args)
        .env("GOLIVE_LISTEN", address.to_string())
        .exec();
    format!("cannot start again: {error}")
}

/// The bootstrap admin token: `GOLIVE_ADMIN_TOKEN`, or the file that
/// `GOLIVE_ADMIN_TOKEN_FILE` names.
fn admin_token_from_env() -> Result<Option<String>, String> {
    if let Some(token) = secret_from_file("GOLIVE_ADMIN_TOKEN")? {
        return Ok(Some(token));
    }
    Ok(std::env::var("GOLIVE_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty()))
}

/// The demo: a fresh SQLite file in a temporary folder (removed when the
/// demo exits, on SIGTERM and Ctrl-C too), or `--database` if it holds no
/// events yet (`--force` to feed one that does). `DATABASE_URL` is not
/// read: a variable meant for the real service must not receive fake
/// traffic.
async fn run_demo(args: DemoArgs) -> Result<(), String> {
    let DemoArgs {
        serve: mut args,
        force,
    } = args;
    let config = config::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    let mut folder = None;
    let url = match args.database.take() {
        Some(url) => url,
        None => {
            let dir = tempfile::Builder::new()
                .prefix("golive-demo-")
                .tempdir()
                .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
            let url = format!("sqlite://{}", dir.path().join("demo.db").display());
            folder = Some(dir);
            url
        }
    };
    let store = open(&url).await?;
    let events = store.last_seq().await.map_err(|e| e.to_string())?;
    if events > 0 && !force {
        return Err(format!(
            "database {} already holds {events} events; the demo would mix simulated \
             traffic into them. Use a fresh database, or --force if that is really meant",
            redact(&url)
        ));
    }
    let admin = admin_token_from_env()?.unwrap_or_else(token::generate);
    let result = run_server(args, config, &url, store, Some(admin), true).await;
    if let Some(dir) = folder {
        let path = dir.path().display().to_string();
        match dir.close() {
            Ok(()) => tracing::info!(%path, "demo database removed"),
            Err(error) => tracing::warn!(%path, %error, "could not remove the demo's folder"),
        }
    }
    result
}

async fn run_token(action: TokenAction) -> Result<(), String> {
    match action {
        TokenAction::Create { role, name, db } => {
            let role = Role::parse(&role).ok_or_else(|| {
                format!("unknown role {role:?}: use admin, lead, agent, integration or display")
            })?;
            let name = token_name(&name).map_err(|e| format!("--{e}"))?;
            let store = open(&database_url(db.database)?).await?;
            let secret = token::generate();
            let id = store
                .create_token(&name, role, &token::hash(&secret), now_millis())
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("created token {id} ({name}, {role}); it is shown only now:");
            println!("{secret}");
            Ok(())
        }
        TokenAction::List { db } => {
            let store = open(&database_url(db.database)?).await?;
            for t in store.tokens().await.map_err(|e| e.to_string())? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}\t{}", t.id, t.role, t.name, state);
            }
            Ok(())
        }
        TokenAction::Revoke { id, db } => {
            let store = open(&database_url(db.database)?).await?;
            if store
                .revoke_token(id, now_millis())
                .await
                .map_err(|e| e.to_string())?
            {
                println!("revoked token {id}");
                Ok(())
            } else {
                Err(format!("no active token with id {id}"))
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}

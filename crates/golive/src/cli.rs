//! Command-line interface: flags, environment and the subcommands.

use crate::config;
use clap::{Parser, Subcommand};
use golive_core::model::Role;
use golive_core::time::now_millis;
use golive_server::{ServeOptions, serve};
use golive_store::{Store, connect, redact, token};
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
    /// traffic.
    Demo(ServeArgs),
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

fn database_url(flag: Option<String>) -> String {
    flag.or_else(|| std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_DATABASE.to_string())
}

pub async fn run(args: Args) -> Result<(), String> {
    match args.command {
        Command::Serve(serve_args) => {
            let url = database_url(serve_args.database.clone());
            run_server(serve_args, url, admin_token_from_env(), false).await
        }
        Command::Demo(serve_args) => run_demo(serve_args).await,
        Command::Migrate(db) => {
            let url = database_url(db.database);
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
/// simulator, which feeds the public API with the admin token.
async fn run_server(
    args: ServeArgs,
    url: String,
    admin_token: Option<String>,
    demo: bool,
) -> Result<(), String> {
    let mut config = config::load(args.config.as_deref())?;
    let store = open(&url).await?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to find the port (`--listen …:0`).
    println!(
        "golive listening on http://{address} (database: {}, {})",
        redact(&url),
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
    serve(options, shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))
}

fn admin_token_from_env() -> Option<String> {
    std::env::var("GOLIVE_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
}

async fn run_demo(mut args: ServeArgs) -> Result<(), String> {
    let url = match args.database.take() {
        Some(url) => url,
        None => {
            let dir = std::env::temp_dir().join(format!("golive-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            format!("sqlite://{}", dir.join("demo.db").display())
        }
    };
    let admin = admin_token_from_env().unwrap_or_else(token::generate);
    run_server(args, url, Some(admin), true).await
}

async fn run_token(action: TokenAction) -> Result<(), String> {
    match action {
        TokenAction::Create { role, name, db } => {
            let role = Role::parse(&role).ok_or_else(|| {
                format!("unknown role {role:?}: use admin, lead, agent, integration or display")
            })?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 64 {
                return Err("--name must be 1..64 characters".into());
            }
            let store = open(&database_url(db.database)).await?;
            let secret = token::generate();
            let id = store
                .create_token(name, role, &token::hash(&secret), now_millis())
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("created token {id} ({name}, {role}); it is shown only now:");
            println!("{secret}");
            Ok(())
        }
        TokenAction::List { db } => {
            let store = open(&database_url(db.database)).await?;
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
            let store = open(&database_url(db.database)).await?;
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

//! A private PostgreSQL cluster for tests that stop, kill or restart the
//! database server: never the shared server other tests use. `initdb` in a
//! temporary directory owned by the `postgres` user, `pg_ctl` on a free
//! port with its socket in that directory, removed when dropped.
//!
//! Needs PostgreSQL's server binaries (`/usr/lib/postgresql/N/bin`), the
//! `postgres` user and root (to run them as that user). [`PgCluster::start`]
//! returns `None`, with the reason, where they are missing, so a test can
//! say why it skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How `pg_ctl stop` shuts the server down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMode {
    /// Rolls back open transactions and disconnects clients, then a clean
    /// shutdown (`-m fast`).
    Fast,
    /// Kills every server process without a shutdown checkpoint, as a crash
    /// would (`-m immediate`); the next start replays the WAL.
    Immediate,
}

/// A running (or stopped) private cluster.
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PgCluster {
    /// Creates and starts a cluster, or says why it cannot.
    pub fn start() -> Result<PgCluster, String> {
        let bin =
            server_binaries().ok_or("no PostgreSQL server binaries in /usr/lib/postgresql")?;
        let status = Command::new("id")
            .args(["-u", "postgres"])
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run id: {e}"))?;
        if !status.success() {
            return Err("there is no postgres user".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("golive-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        as_root(Command::new("chown").args(["postgres:postgres", &path_str(dir.path())]))?;
        let data = dir.path().join("data");
        as_postgres(
            &bin,
            "initdb",
            &[
                "-D",
                &path_str(&data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        let cluster = PgCluster {
            bin,
            dir,
            port: free_port()?,
        };
        cluster.start_again()?;
        Ok(cluster)
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        as_postgres(
            &self.bin,
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ],
        )?;
        Ok(self.url(name))
    }

    /// Stops the server (`pg_ctl stop -m fast|immediate`), waiting until it
    /// is down.
    pub fn stop(&self, mode: StopMode) -> Result<(), String> {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data(), "-m", mode, "-w", "-t", "60", "stop"],
        )
    }

    /// Starts the (stopped) server on the same port and data, waiting until
    /// it accepts connections.
    pub fn start_again(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            path_str(self.dir.path())
        );
        let log = path_str(&self.dir.path().join("server.log"));
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-t",
                "120",
                "start",
            ],
        )?;
        // `-w` waits for the server to accept connections, but on a loaded
        // machine give TCP a moment too.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return Err("the cluster does not accept TCP connections".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn data(&self) -> String {
        path_str(&self.dir.path().join("data"))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

/// The newest installed PostgreSQL's server binaries.
fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}

fn as_root(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs one of the server binaries as the `postgres` user.
fn as_postgres(bin: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    as_root(
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join(program))
            .args(args)
            .stdin(Stdio::null()),
    )
}

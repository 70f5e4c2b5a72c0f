//! Storage faults under load, against the real binary: SQLite on a disk
//! that fills up and frees again (a small tmpfs mounted by the test), a
//! restart on a full disk, the WAL's size under sustained writes, a reader
//! holding the WAL while writes go on, an online backup, and a private
//! PostgreSQL cluster stopped (fast and immediate) and restarted under 8
//! writers. Each checks that nothing acknowledged is lost and that
//! the service comes back by itself, without restarting golive.
//!
//! The tmpfs tests need root (`mount -t tmpfs`); where mounting is
//! impossible they print why and skip. The PostgreSQL test needs the
//! PostgreSQL server binaries and the `postgres` user (see
//! `support::pg_cluster`); it skips with `GOLIVE_SKIP_POSTGRES=1`.

mod support;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::pg_cluster::{PgCluster, StopMode};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, query_strings, ticket};

const WRITERS: usize = 8;

/// A tmpfs of a fixed size mounted on a temporary directory, unmounted
/// when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts `megabytes` of tmpfs, or says why it cannot.
    fn mount(megabytes: u32) -> Result<Tmpfs, String> {
        let dir = tempfile::Builder::new()
            .prefix("golive-tmpfs-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "mount -t tmpfs failed (not root, or no mount namespace): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system: writes `filler` until it is out of space.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler file");
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writers' tallies, per phase of a test.
#[derive(Default)]
struct Tally {
    /// Ticket ids acknowledged (201).
    acknowledged: Vec<u64>,
    /// Response counts by phase and status.
    statuses: BTreeMap<(u8, u16), u64>,
}

/// `WRITERS` clients creating tickets as fast as the server answers until
/// stopped, each recording what was acknowledged.
struct Load {
    phase: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(base: &str) -> Load {
        let phase = Arc::new(AtomicU8::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let client = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let tasks = (0..WRITERS)
            .map(|writer| {
                let (phase, stop, tally, client) =
                    (phase.clone(), stop.clone(), tally.clone(), client.clone());
                let url = format!("{base}/api/v1/tickets");
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let body = ticket(json!({
                            "site": format!("Site {writer}"),
                            "external_id": format!("W{writer}-{n}"),
                        }));
                        let started_in = phase.load(Ordering::Relaxed);
                        let response = client
                            .post(&url)
                            .bearer_auth(ADMIN_TOKEN)
                            .json(&body)
                            .send()
                            .await;
                        let (status, value) = match response {
                            Ok(r) => {
                                let status = r.status().as_u16();
                                (status, r.json::<Value>().await.unwrap_or(Value::Null))
                            }
                            // Connection-level failure: counted, never acknowledged.
                            Err(_) => (0, Value::Null),
                        };
                        {
                            let mut tally = tally.lock().expect("tally");
                            *tally.statuses.entry((started_in, status)).or_default() += 1;
                            if status == 201 {
                                let id = value["id"]
                                    .as_str()
                                    .and_then(|id| id.parse().ok())
                                    .expect("201 carries the ticket id");
                                tally.acknowledged.push(id);
                            }
                        }
                        if status != 201 && status != 0 {
                            assert_eq!(status, 503, "only 201 or 503 expected: {value}");
                            assert!(value["error"]["code"].is_string(), "{value}");
                        }
                        if status != 201 {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                })
            })
            .collect();
        Load {
            phase,
            stop,
            tally,
            tasks,
        }
    }

    fn enter(&self, phase: u8) {
        self.phase.store(phase, Ordering::Relaxed);
    }

    fn count(&self, phase: u8, status: u16) -> u64 {
        let tally = self.tally.lock().expect("tally");
        tally.statuses.get(&(phase, status)).copied().unwrap_or(0)
    }

    fn acknowledged(&self) -> usize {
        self.tally.lock().expect("tally").acknowledged.len()
    }

    /// The ticket ids acknowledged so far.
    fn acknowledged_ids(&self) -> BTreeSet<u64> {
        let tally = self.tally.lock().expect("tally");
        tally.acknowledged.iter().copied().collect()
    }

    /// Waits until `n` more writes are acknowledged after now, or panics
    /// with `what` after `within`.
    async fn wait_for_acks(&self, n: usize, within: Duration, what: &str) {
        let start = self.acknowledged();
        let deadline = Instant::now() + within;
        while self.acknowledged() < start + n {
            assert!(
                Instant::now() < deadline,
                "{what}: only {} writes acknowledged in {within:?}; statuses {:?}",
                self.acknowledged() - start,
                self.tally.lock().expect("tally").statuses
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the writers and returns every acknowledged ticket id.
    async fn finish(self) -> (BTreeSet<u64>, BTreeMap<(u8, u16), u64>) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("writer task");
        }
        let tally = std::mem::take(&mut *self.tally.lock().expect("tally"));
        let ids: BTreeSet<u64> = tally.acknowledged.iter().copied().collect();
        assert_eq!(
            ids.len(),
            tally.acknowledged.len(),
            "an id acknowledged twice"
        );
        (ids, tally.statuses)
    }
}

/// Every ticket id in the database, read directly.
async fn stored_ids(db_url: &str) -> BTreeSet<u64> {
    query_strings(db_url, "SELECT CAST(id AS TEXT) FROM tickets")
        .await
        .into_iter()
        .map(|id| id.parse().expect("numeric id"))
        .collect()
}

/// Every ticket id `server` lists through the API.
async fn listed_ids(server: &Server) -> BTreeSet<u64> {
    server
        .all_tickets()
        .await
        .iter()
        .map(|t| t["id"].as_str().expect("id").parse().expect("id"))
        .collect()
}

/// A file's size; 0 when it is not there.
fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// A server on a new SQLite file in `dir`: the database, the server, the
/// file and its WAL.
async fn sqlite_server(dir: &Path) -> (TestDb, Server, PathBuf, PathBuf) {
    let path = dir.join("golive.db");
    let db = TestDb::sqlite_at(&path);
    let server = Server::start(&db).await;
    (db, server, path, dir.join("golive.db-wal"))
}

/// Waits until the WAL at `wal` is back under 4 MiB, or panics after
/// `within` (counted from when `after` happened).
async fn wal_settles(wal: &Path, within: Duration, after: &str) {
    let settled = Instant::now() + within;
    loop {
        let now = file_size(wal);
        if now <= 4 << 20 {
            return;
        }
        assert!(
            Instant::now() < settled,
            "WAL still {now} bytes {within:?} after {after}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn assert_nothing_lost(acknowledged: &BTreeSet<u64>, stored: &BTreeSet<u64>) {
    let lost: Vec<&u64> = acknowledged.difference(stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged tickets are not in the database: {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
}

/// `/readyz`: status and body.
async fn readyz(client: &Client, server: &Server) -> (StatusCode, Value) {
    match client
        .get(server.url("/readyz"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(e) => (StatusCode::BAD_GATEWAY, json!(e.to_string())),
    }
}

/// Polls `/readyz` for `period`, returning the `details` of the first 503
/// seen (the error shape: `{"error": {"code", "message", "details"}}`).
async fn watch_for_not_ready(client: &Client, server: &Server, period: Duration) -> Option<Value> {
    let deadline = Instant::now() + period;
    let mut seen = None;
    while Instant::now() < deadline {
        let (status, body) = readyz(client, server).await;
        if status == StatusCode::SERVICE_UNAVAILABLE && seen.is_none() {
            seen = Some(body["error"]["details"].clone());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

/// Waits until `/readyz` answers 200.
async fn wait_ready(client: &Client, server: &Server, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = readyz(client, server).await;
        if status == StatusCode::OK {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: /readyz still {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_then_freed_recovers_without_restart() {
    let disk = match Tmpfs::mount(24) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let db = TestDb::sqlite_at(&disk.path().join("golive.db"));
    let server = Server::start(&db).await;
    let client = Client::new();
    let load = Load::start(&server.base);
    load.wait_for_acks(200, Duration::from_secs(60), "before the disk fills")
        .await;

    // Disk full: writes fail with 503 and readiness says why.
    load.enter(1);
    let filler = disk.fill();
    let not_ready = watch_for_not_ready(&client, &server, Duration::from_secs(4)).await;
    let body = not_ready.expect("/readyz answered 503 while the disk was full");
    assert_eq!(body["status"], "writes_failing", "{body}");
    // SQLite says "database or disk is full" (or, creating a file, "disk
    // I/O error").
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("full") || r.contains("I/O")),
        "{body}"
    );
    assert!(
        load.count(1, 503) > 0,
        "writes failed while the disk was full"
    );

    // Space back: writes and readiness recover by themselves.
    std::fs::remove_file(&filler).expect("remove filler");
    load.enter(2);
    load.wait_for_acks(200, Duration::from_secs(60), "after space returned")
        .await;
    wait_ready(
        &client,
        &server,
        Duration::from_secs(30),
        "after space returned",
    )
    .await;

    let (acknowledged, statuses) = load.finish().await;
    eprintln!("statuses by (phase, status): {statuses:?}");
    assert_nothing_lost(&acknowledged, &stored_ids(&db.url).await);
    // The server still agrees with the database.
    let listed: BTreeSet<u64> = server
        .all_tickets()
        .await
        .iter()
        .map(|t| t["id"].as_str().expect("id").parse().expect("id"))
        .collect();
    assert_nothing_lost(&acknowledged, &listed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_on_a_full_disk_waits_for_room() {
    let disk = match Tmpfs::mount(16) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let db = TestDb::sqlite_at(&disk.path().join("golive.db"));
    let mut server = Server::start(&db).await;
    let mut ids = BTreeSet::new();
    for n in 0..20 {
        let (status, body) = server
            .post(
                "/api/v1/tickets",
                &ticket(json!({"external_id": format!("R{n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(body["id"].as_str().expect("id").parse::<u64>().expect("id"));
    }
    assert!(server.terminate().is_some_and(|s| s.success()));
    // A graceful stop closes the database: no WAL or shared-memory file
    // is left with room to write into, so the restart below finds none.
    for leftover in ["golive.db-wal", "golive.db-shm"] {
        assert!(
            !disk.path().join(leftover).exists(),
            "{leftover} left after a graceful stop"
        );
    }

    let filler = disk.fill();
    let server = Server::launch(&db.url, &[], &[], Stdio::inherit());
    let client = Client::new();
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK, "the process is up on a full disk");
    let not_ready = watch_for_not_ready(&client, &server, Duration::from_secs(2)).await;
    let body = not_ready.expect("not ready while the database cannot be opened");
    assert!(body["reason"].is_string(), "503 says why: {body}");
    let (status, _) = readyz(&client, &server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    std::fs::remove_file(&filler).expect("remove filler");
    wait_ready(
        &client,
        &server,
        Duration::from_secs(60),
        "after space returned",
    )
    .await;
    let (status, body) = server
        .post("/api/v1/tickets", &ticket(json!({"external_id": "after"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let listed = listed_ids(&server).await;
    assert!(ids.is_subset(&listed), "tickets from before the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_bounded_under_sustained_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, server, path, wal) = sqlite_server(dir.path()).await;
    let load = Load::start(&server.base);
    // Until a fixed number of tickets rather than for a fixed time: the WAL
    // grows with what is written, and a loaded machine writes less per
    // second.
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut largest = 0u64;
    while load.acknowledged() < 10_000 {
        assert!(Instant::now() < deadline, "10,000 tickets took over 150 s");
        largest = largest.max(file_size(&wal));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (acknowledged, _) = load.finish().await;
    let database = file_size(&path);
    eprintln!(
        "{} tickets written; WAL at most {largest} bytes, database {database} bytes",
        acknowledged.len()
    );
    // The checkpointer truncates the WAL past 4 MiB, and past 16 MiB a
    // commit waits for a truncating checkpoint first: the WAL exceeds that
    // ceiling by one commit at most (a few hundred KiB here), however
    // slow the disk. (Before the ceiling, a checkpoint slowed by a busy
    // disk let the WAL reach 69 MB in CI and 73 MB on a quiet machine;
    // before any checkpointing, it only grew: 37 MB after 5,000 tickets,
    // twice that after 10,000.)
    assert!(
        largest <= 20 << 20,
        "WAL grew to {largest} bytes beside a {database}-byte database"
    );
    // Once writes stop, the last checkpoint truncates it.
    wal_settles(&wal, Duration::from_secs(20), "the writes stopped").await;
    assert_nothing_lost(&acknowledged, &stored_ids(&db.url).await);
}

/// A reader that holds a snapshot (a backup, a replication tool, a shell
/// left inside a transaction) keeps SQLite from starting the WAL over, so
/// no checkpoint can bring it under its ceiling: commits must stop waiting
/// for one after a short while instead of stalling every write, and the
/// WAL comes back down once the reader lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reader_holding_the_wal_does_not_stall_writes() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, server, _, wal) = sqlite_server(dir.path()).await;
    let wal_size = || file_size(&wal);
    let load = Load::start(&server.base);
    load.wait_for_acks(200, Duration::from_secs(60), "before the reader")
        .await;

    let mut reader = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("reader connects");
    sqlx::query("BEGIN")
        .execute(&mut reader)
        .await
        .expect("BEGIN");
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&mut reader)
        .await
        .expect("the reader's snapshot");
    assert!(held > 0, "the reader sees tickets");

    // Writes go on while the reader holds its snapshot, until the WAL is
    // well past the 16 MiB ceiling (no checkpoint can bring it down).
    // The longest time without an acknowledgement says whether commits
    // waited on checkpoints that could not succeed: 2 s once, then not
    // for 30 s (each attempt used to wait the pool's 10 s busy timeout).
    let deadline = Instant::now() + Duration::from_secs(150);
    let (mut last_count, mut last_change) = (load.acknowledged(), Instant::now());
    let mut longest_gap = Duration::ZERO;
    while wal_size() < 24 << 20 {
        assert!(
            Instant::now() < deadline,
            "the WAL stayed at {} bytes for 150 s under a reader",
            wal_size()
        );
        let count = load.acknowledged();
        if count != last_count {
            (last_count, last_change) = (count, Instant::now());
        }
        longest_gap = longest_gap.max(last_change.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "WAL at {} bytes under the reader; longest wait for an acknowledgement {longest_gap:?}",
        wal_size()
    );
    assert!(
        longest_gap < Duration::from_secs(8),
        "writes stalled for {longest_gap:?} while a reader held the WAL"
    );

    sqlx::query("COMMIT")
        .execute(&mut reader)
        .await
        .expect("COMMIT");
    reader.close().await.expect("reader closes");
    let (acknowledged, _) = load.finish().await;
    wal_settles(
        &wal,
        Duration::from_secs(30),
        "the reader let go and writes stopped",
    )
    .await;
    assert_nothing_lost(&acknowledged, &stored_ids(&db.url).await);
}

/// The online backup `docs/deploy.md` gives for SQLite, `VACUUM INTO` from
/// a second connection while 8 writers go on: the writes go on,
/// the copy is a consistent database holding every ticket acknowledged
/// before it began, and golive started on the copy replays it and serves
/// the same tickets and figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_online_backup_while_writing_restores() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::sqlite_at(&dir.path().join("golive.db"));
    let server = Server::start(&db).await;
    let started_ms = chrono::Utc::now().timestamp_millis();
    let load = Load::start(&server.base);
    load.wait_for_acks(500, Duration::from_secs(60), "before the backup")
        .await;

    let copy = dir.path().join("backup.db");
    let before = load.acknowledged_ids();
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("backup connection");
    sqlx::query(&format!("VACUUM INTO '{}'", copy.display()))
        .execute(&mut conn)
        .await
        .expect("VACUUM INTO");
    conn.close().await.expect("backup connection closes");
    load.wait_for_acks(500, Duration::from_secs(60), "after the backup")
        .await;
    let (acknowledged, _) = load.finish().await;
    assert_nothing_lost(&acknowledged, &stored_ids(&db.url).await);

    let copy_db = TestDb::sqlite_at(&copy);
    assert_eq!(
        query_strings(&copy_db.url, "PRAGMA integrity_check").await,
        vec!["ok".to_string()]
    );
    let in_copy = stored_ids(&copy_db.url).await;
    assert!(
        before.is_subset(&in_copy),
        "{} tickets acknowledged before the backup are missing from it",
        before.difference(&in_copy).count()
    );
    assert!(
        in_copy.is_subset(&acknowledged),
        "the backup holds tickets never acknowledged"
    );

    // Restored: a server on the copy replays its log.
    drop(server);
    let restored = Server::start(&copy_db).await;
    assert_eq!(
        listed_ids(&restored).await,
        in_copy,
        "the restored server lists the copy's tickets"
    );
    let (status, report) = restored
        .get(&format!(
            "/api/v1/report?from={}&to={}",
            support::iso(started_ms - 3_600_000),
            support::iso(chrono::Utc::now().timestamp_millis() + 60_000)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["tickets"]["opened"].as_u64(),
        Some(in_copy.len() as u64),
        "the replayed figures count the copy's tickets: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_restarted_under_writers_loses_nothing() {
    if support::skip_postgres() {
        eprintln!("GOLIVE_SKIP_POSTGRES=1: skipping");
        return;
    }
    let cluster = PgCluster::start().unwrap_or_else(|why| {
        panic!("cannot start a private PostgreSQL cluster: {why} (GOLIVE_SKIP_POSTGRES=1 skips)")
    });
    let url = cluster.create_database("golive").expect("create database");
    let db = TestDb::at_url(&url, Backend::Postgres);
    let server = Server::start(&db).await;
    let client = Client::new();
    let load = Load::start(&server.base);
    load.wait_for_acks(100, Duration::from_secs(60), "before the first stop")
        .await;

    for (round, mode) in [StopMode::Fast, StopMode::Immediate]
        .into_iter()
        .enumerate()
    {
        let down = 1 + 2 * round as u8;
        load.enter(down);
        cluster.stop(mode).expect("stop PostgreSQL");
        let not_ready = watch_for_not_ready(&client, &server, Duration::from_secs(2)).await;
        assert!(
            not_ready.is_some(),
            "{mode:?}: /readyz answered 503 while PostgreSQL was down"
        );
        cluster.start_again().expect("restart PostgreSQL");
        load.enter(down + 1);
        load.wait_for_acks(
            100,
            Duration::from_secs(90),
            &format!("after the {mode:?} restart"),
        )
        .await;
        wait_ready(
            &client,
            &server,
            Duration::from_secs(30),
            &format!("after the {mode:?} restart"),
        )
        .await;
    }

    let (acknowledged, statuses) = load.finish().await;
    eprintln!("statuses by (phase, status): {statuses:?}");
    assert_nothing_lost(&acknowledged, &stored_ids(&db.url).await);
    // The server's own view agrees: every acknowledged ticket is listed.
    let listed: BTreeSet<u64> = server
        .all_tickets()
        .await
        .iter()
        .map(|t| t["id"].as_str().expect("id").parse().expect("id"))
        .collect();
    assert_nothing_lost(&acknowledged, &listed);
}

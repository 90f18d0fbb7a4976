//! The `roster` binary as an operator runs it: `serve` in a child process spoken to over
//! loopback HTTP, and the CLI commands against the same database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_roster");
const SECRET: &str = "sk_live_testtesttesttesttesttesttesttesttesttestxyz";
const WAIT: Duration = Duration::from_secs(30);

fn roster(database_url: &str) -> Command {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("ROSTER_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.env("ROSTER_DATABASE_URL", database_url);
    command
}

fn run_json(database_url: &str, args: &[&str]) -> Value {
    let output = roster(database_url).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

struct Server {
    /// `None` once terminated; a server still running when dropped (a failed test) is killed.
    child: Option<Child>,
    address: String,
    /// Everything the server printed before it said where it listens.
    banner: String,
}

impl Server {
    fn start(database_url: &str, bootstrap: Option<&str>) -> Self {
        Self::start_with(database_url, bootstrap, &[])
    }

    fn start_with(database_url: &str, bootstrap: Option<&str>, extra: &[&str]) -> Self {
        let mut command = roster(database_url);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra);
        if let Some(secret) = bootstrap {
            command.env("ROSTER_BOOTSTRAP_SECRET_KEY", secret);
        }
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Self {
            child: Some(child),
            address: String::new(),
            banner: String::new(),
        };
        let stdout = server.child.as_mut().and_then(|c| c.stdout.take()).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        loop {
            let line = rx
                .recv_timeout(WAIT)
                .expect("server did not say where it listens");
            if let Some(address) = line.strip_prefix("Roster listening on http://") {
                server.address = address.to_owned();
                return server;
            }
            server.banner.push_str(&line);
            server.banner.push('\n');
        }
    }

    /// One HTTP/1.1 exchange; returns the status and the JSON body (null when empty).
    fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        try_request(&self.address, method, path, key, body).expect("request failed")
    }

    /// SIGTERM, and the exit status once the server has drained.
    fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        rx.recv_timeout(WAIT)
            .expect("server did not stop on SIGTERM")
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 exchange, or `None` if the connection fails (a killed server).
fn try_request(
    address: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(WAIT)).ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).ok()?
    };
    Some((status, body))
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("roster.db").display())
}

#[test]
fn serve_bootstraps_once_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let server = Server::start(&url, Some(SECRET));
    assert!(
        server.banner.contains(SECRET),
        "the first start prints the admin key: {}",
        server.banner
    );
    assert_eq!(
        server.request("GET", "/healthz", None, None),
        (200, json!({"status": "ok"}))
    );
    assert_eq!(server.request("GET", "/readyz", None, None).0, 200);
    let (status, body) = server.request(
        "POST",
        "/v1/users",
        Some(SECRET),
        Some(json!({"name": "Alex Morgan", "email": "alex@company.io", "role": "editor"})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.request("GET", "/v1/users", Some(SECRET), None);
    assert_eq!(
        (status, body["data"][0]["email"].clone()),
        (200, json!("alex@company.io"))
    );
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );

    // A second start finds the installation set up: no new workspace, no key printed.
    let server = Server::start(&url, None);
    assert!(!server.banner.contains("sk_live_"), "{}", server.banner);
    let (status, body) = server.request("GET", "/v1/users", Some(SECRET), None);
    assert_eq!(
        (status, body["data"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
    let workspaces = run_json(&url, &["workspaces", "list", "--json"]);
    assert_eq!(workspaces.as_array().unwrap().len(), 1);
    assert_eq!(workspaces[0]["name"], "default");
}

/// The signal handlers are in place before the server says where it listens: a SIGTERM
/// the moment after that line is a graceful stop, never the default action's kill.
#[test]
fn sigterm_right_after_the_listening_line_is_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    for _ in 0..3 {
        let server = Server::start(&url, Some(SECRET));
        assert_eq!(
            server.terminate().code(),
            Some(0),
            "stopped by SIGTERM with exit code 0"
        );
    }
}

#[test]
fn cli_keys_work_against_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let server = Server::start(&url, None);
    let acme = run_json(&url, &["workspaces", "create", "acme", "--json"]);
    assert_eq!(acme["name"], "acme");
    assert!(acme["id"].as_str().unwrap().starts_with("ws_"));
    let listed = run_json(&url, &["workspaces", "list", "--json"]);
    let names: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].clone())
        .collect();
    assert_eq!(names, [json!("default"), json!("acme")]);
    // By name, and by id.
    let by_name = run_json(&url, &["keys", "create", "--workspace", "acme", "--json"]);
    let by_id = run_json(
        &url,
        &[
            "keys",
            "create",
            "--workspace",
            acme["id"].as_str().unwrap(),
            "--json",
        ],
    );
    let default_key = run_json(&url, &["keys", "create", "--json"]);
    for key in [&by_name, &by_id, &default_key] {
        assert!(key["id"].as_str().unwrap().starts_with("key_"));
        assert!(key["secret"].as_str().unwrap().starts_with("sk_live_"));
    }
    let acme_secret = by_name["secret"].as_str().unwrap();
    let user = json!({"name": "A", "email": "a@acme.io", "role": "admin"});
    assert_eq!(
        server
            .request("POST", "/v1/users", Some(acme_secret), Some(user))
            .0,
        201
    );
    // The default workspace's key does not see acme's user.
    let (_, body) = server.request("GET", "/v1/users", default_key["secret"].as_str(), None);
    assert_eq!(body["data"], json!([]));
    let (_, body) = server.request("GET", "/v1/users", by_id["secret"].as_str(), None);
    assert_eq!(body["data"][0]["email"], "a@acme.io");
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
}

#[test]
fn cli_reports_bad_input_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let cases: [(&[&str], &str); 7] = [
        (&["keys", "create", "--workspace", "nope", "--json"], "nope"),
        (&["workspaces", "create", "Not A Slug"], "Workspace names"),
        (&["serve", "--listen", "nowhere"], "invalid"),
        (
            &["migrate", "--database-url", "mysql://x"],
            "unsupported database URL",
        ),
        (
            &["keys", "create", "--scopes", "users:delete"],
            "Unknown scope",
        ),
        (&["keys", "revoke", "key_doesnotexist"], "No API key"),
        (&["clients", "enable-admin-api", "nope"], "No API client"),
    ];
    run_ok(&url, &["migrate"]);
    run_ok(&url, &["workspaces", "create", "default"]);
    for (args, expected) in cases {
        let output = roster(&url).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let weak = roster(&url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("ROSTER_BOOTSTRAP_SECRET_KEY", "sk_live_short")
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("sk_live_"));
    let migrate = roster(&url).arg("migrate").output().unwrap();
    assert!(migrate.status.success());
}

#[test]
fn serve_runs_on_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = runtime.block_on(roster_store_postgres::testing::fresh_database()) else {
        return;
    };
    let server = Server::start(&db.url, Some(SECRET));
    assert!(server.banner.contains(SECRET));
    let user = json!({"name": "Pat", "email": "pat@example.com", "role": "viewer", "send_invitation": false});
    let (status, created) = server.request("POST", "/v1/users", Some(SECRET), Some(user));
    assert_eq!(status, 201, "{created}");
    let (status, body) = server.request(
        "GET",
        "/v1/users?search=PAT&status=active",
        Some(SECRET),
        None,
    );
    assert_eq!(
        (status, body["data"][0]["id"].clone()),
        (200, created["id"].clone())
    );
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
    runtime.block_on(db.drop_database());
}

fn run_ok(database_url: &str, args: &[&str]) -> String {
    let output = roster(database_url).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn cli_manages_scoped_keys_clients_and_signing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    // A one-second auth cache, so a revocation from the CLI reaches the server quickly.
    let server = Server::start_with(&url, Some(SECRET), &["--auth-cache-ttl-seconds", "1"]);

    let reader = run_json(
        &url,
        &[
            "keys",
            "create",
            "--scopes",
            "users:read",
            "--rate-limit",
            "2",
            "--name",
            "ro",
            "--json",
        ],
    );
    let reader_secret = reader["secret"].as_str().unwrap();
    assert_eq!(
        server
            .request("GET", "/v1/users", Some(reader_secret), None)
            .0,
        200
    );
    let (status, body) = server.request(
        "POST",
        "/v1/users",
        Some(reader_secret),
        Some(json!({"name": "A", "email": "a@b.co", "role": "admin"})),
    );
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("missing_scope_users_write"))
    );
    // Two requests per minute: the third is refused.
    assert_eq!(
        server
            .request("GET", "/v1/users", Some(reader_secret), None)
            .0,
        429
    );

    let keys = run_json(&url, &["keys", "list", "--json"]);
    let listed = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == reader["id"])
        .unwrap();
    assert_eq!(listed["scopes"], json!(["users:read"]));
    assert_eq!(listed["rate_limit_per_minute"], 2);
    assert!(listed.get("secret").is_none());

    // Revoked from the CLI while the server has the key cached: refused within the TTL.
    let other = run_json(
        &url,
        &["keys", "create", "--scopes", "users:read", "--json"],
    );
    let other_secret = other["secret"].as_str().unwrap();
    assert_eq!(
        server
            .request("GET", "/v1/users", Some(other_secret), None)
            .0,
        200
    );
    run_ok(&url, &["keys", "revoke", other["id"].as_str().unwrap()]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = server.request("GET", "/v1/users", Some(other_secret), None);
        if status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "revoked key still accepted after 5 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Clients: off by default, enabled from the CLI, exchanged for a token.
    let client = run_json(&url, &["clients", "create", "--json"]);
    let exchange = json!({"client_id": client["client_id"], "client_secret": client["client_secret"], "type": "client"});
    assert_eq!(
        server
            .request("POST", "/v1/admin/token", None, Some(exchange.clone()))
            .0,
        403
    );
    run_ok(
        &url,
        &[
            "clients",
            "enable-admin-api",
            client["client_id"].as_str().unwrap(),
        ],
    );
    let (status, token) = server.request("POST", "/v1/admin/token", None, Some(exchange.clone()));
    assert_eq!((status, token["expires_in"].clone()), (200, json!(86400)));
    let token = token["client_token"].as_str().unwrap().to_owned();
    assert_eq!(
        server.request("GET", "/v1/users", Some(&token), None).0,
        200
    );
    let clients = run_json(&url, &["clients", "list", "--json"]);
    assert_eq!(clients[0]["admin_api_enabled"], true);
    let admin_client = run_json(&url, &["clients", "create", "--admin-api", "--json"]);
    let admin_exchange = json!({"client_id": admin_client["client_id"], "client_secret": admin_client["client_secret"], "type": "client"});
    assert_eq!(
        server
            .request("POST", "/v1/admin/token", None, Some(admin_exchange))
            .0,
        200
    );

    // Rotation from the CLI: the server picks the new key up; the old token still works.
    let before = run_json(&url, &["signing-keys", "list", "--json"]);
    assert_eq!(before.as_array().unwrap().len(), 1);
    let rotated = run_json(&url, &["signing-keys", "rotate", "--json"]);
    let after = run_json(&url, &["signing-keys", "list", "--json"]);
    assert_eq!(after.as_array().unwrap().len(), 2);
    assert!(after[0]["retires_at"].is_string());
    assert_eq!(after[1]["kid"], rotated["kid"]);
    assert_eq!(
        server.request("GET", "/v1/users", Some(&token), None).0,
        200
    );

    run_ok(
        &url,
        &["clients", "revoke", client["client_id"].as_str().unwrap()],
    );
    run_ok(&url, &["workspaces", "set-rate-limit", "default", "500"]);
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
}

/// Every user the server acknowledged, and every user on disk, has its `user.create` event,
/// even when the server is killed mid-stream; the chain still verifies.
#[test]
fn sigkill_mid_stream_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let server = Server::start(&url, Some(SECRET));
    let address = server.address.clone();
    let (tx, rx) = mpsc::channel();
    let writer = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for n in 0..10_000 {
            let body = json!({"name": format!("U{n}"), "email": format!("u{n}@example.com"), "role": "viewer"});
            match try_request(&address, "POST", "/v1/users", Some(SECRET), Some(body)) {
                Some((201, user)) => {
                    acknowledged.push(user["id"].as_str().unwrap().to_owned());
                    let _ = tx.send(acknowledged.len());
                }
                _ => break,
            }
        }
        acknowledged
    });
    // Kill once a good number of writes went through, while more are in flight.
    while rx.recv_timeout(WAIT).expect("writes stalled") < 40 {}
    let pid = server.child.as_ref().unwrap().id().to_string();
    assert!(Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    let acknowledged = writer.join().unwrap();
    drop(server);

    let server = Server::start(&url, None);
    let mut on_disk = Vec::new();
    let mut path = "/v1/users?limit=100".to_owned();
    loop {
        let (status, page) = server.request("GET", &path, Some(SECRET), None);
        assert_eq!(status, 200);
        on_disk.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        match page["meta"]["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/users?limit=100&cursor={cursor}"),
            None => break,
        }
    }
    for id in &acknowledged {
        assert!(on_disk.contains(id), "acknowledged user {id} was lost");
    }
    for id in &on_disk {
        let (_, events) = server.request(
            "GET",
            &format!("/v1/audit-logs?user_id={id}"),
            Some(SECRET),
            None,
        );
        let actions: Vec<&str> = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["user.create"], "user {id}");
    }
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
    let verified = roster(&url).args(["audit", "verify"]).output().unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

/// A fresh installation whose server made `users` users and stopped.
fn installation_with_users(users: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let server = Server::start(&url, Some(SECRET));
    for n in 0..users {
        let body = json!({"name": format!("U{n}"), "email": format!("u{n}@example.com"), "role": "viewer"});
        assert_eq!(
            server
                .request("POST", "/v1/users", Some(SECRET), Some(body))
                .0,
            201
        );
    }
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
    (dir, url)
}

/// Editing or deleting an event row by hand is detected, and the event named.
#[test]
fn audit_verify_names_the_edited_event() {
    let (dir, url) = installation_with_users(5);
    let ok = run_ok(&url, &["audit", "verify", "--workspace", "default"]);
    assert!(ok.contains("ok, 8 events verified"), "{ok}");
    let archive = dir.path().join("audit.ndjson");
    run_ok(
        &url,
        &["audit", "export", "--output", archive.to_str().unwrap()],
    );
    let exported = std::fs::read_to_string(&archive).unwrap();
    assert_eq!(exported.lines().count(), 8);
    let csv = run_ok(&url, &["audit", "export", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 9, "a header and eight rows");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sql = |statement: String| {
        let url = url.clone();
        runtime.block_on(async move {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            conn.execute(statement.as_str()).await.unwrap();
        })
    };
    let event_id = |seq: i64| {
        let url = url.clone();
        runtime.block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let id: String = sqlx::query_scalar("SELECT id FROM audit_events WHERE seq = ?1")
                .bind(seq)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            id
        })
    };
    let verify = || {
        let output = roster(&url).args(["audit", "verify"]).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };

    // An edited row.
    let fourth = event_id(4);
    sql("UPDATE audit_events SET changes = '{}' WHERE seq = 4".into());
    let (passed, report) = verify();
    assert!(
        !passed && report.contains(&fourth) && report.contains("edited"),
        "{report}"
    );

    // A deleted row, in a fresh installation.
    let dir = tempfile::tempdir().unwrap();
    let url2 = sqlite_url(&dir);
    let server = Server::start(&url2, Some(SECRET));
    for n in 0..3 {
        let body = json!({"name": format!("U{n}"), "email": format!("u{n}@example.com"), "role": "viewer"});
        server.request("POST", "/v1/users", Some(SECRET), Some(body));
    }
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
    runtime.block_on(async {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::SqliteConnection::connect(&url2).await.unwrap();
        conn.execute("DELETE FROM audit_events WHERE seq = 3")
            .await
            .unwrap();
    });
    let output = roster(&url2).args(["audit", "verify"]).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success() && report.contains("deleted"),
        "{report}"
    );
}

#[test]
fn users_import_and_export_round_trip_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    run_ok(&url, &["migrate"]);
    run_ok(&url, &["workspaces", "create", "default"]);
    let csv = dir.path().join("people.csv");
    let mut rows = String::from("external_id,email,name,role,attributes.dept\n");
    for n in 0..2500 {
        rows.push_str(&format!(
            "p{n},p{n}@example.com,Person {n},viewer,d{}\n",
            n % 7
        ));
    }
    std::fs::write(&csv, &rows).unwrap();
    let report = run_json(&url, &["users", "import", csv.to_str().unwrap(), "--json"]);
    assert_eq!(
        (report["created"].as_u64(), report["rejected"].as_u64()),
        (Some(2500), Some(0))
    );

    // Export, then import the export: nothing changes, nothing doubles.
    let exported = dir.path().join("users.ndjson");
    run_ok(
        &url,
        &["users", "export", "--output", exported.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&exported).unwrap();
    assert_eq!(text.lines().count(), 2500);
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["external_id"], "p2499");
    assert_eq!(first["attributes"], json!({"dept": "d0"}), "2499 % 7");
    let report = run_json(
        &url,
        &["users", "import", exported.to_str().unwrap(), "--json"],
    );
    assert_eq!(report["unchanged"].as_u64(), Some(2500), "{report}");

    // Rejected rows: listed by line, and the command fails.
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(
        &bad,
        "{\"email\":\"ok@example.com\",\"name\":\"Ok\",\"role\":\"viewer\"}\n{\"email\":\"nope\",\"name\":\"X\",\"role\":\"viewer\"}\n",
    )
    .unwrap();
    let output = roster(&url)
        .args(["users", "import", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("line 2:") && stdout.contains("invalid_email"),
        "{stdout}"
    );
    assert!(stdout.contains("1 created"), "{stdout}");
}

/// A one-message SMTP server on a thread: accepts one session and sends what it was given.
fn smtp_sink() -> (u16, mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut write = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream).lines();
        write.write_all(b"220 sink ESMTP\r\n").unwrap();
        while let Some(Ok(line)) = lines.next() {
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply = match verb.as_str() {
                "DATA" => {
                    write.write_all(b"354 go ahead\r\n").unwrap();
                    let mut message = String::new();
                    for line in lines.by_ref() {
                        let line = line.unwrap();
                        if line == "." {
                            break;
                        }
                        message.push_str(line.strip_prefix('.').unwrap_or(&line));
                        message.push('\n');
                    }
                    let _ = tx.send(message);
                    "250 OK\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n");
                    return;
                }
                "EHLO" | "HELO" => "250 sink\r\n",
                _ => "250 OK\r\n",
            };
            if write.write_all(reply.as_bytes()).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

#[test]
fn serve_delivers_invitations_over_smtp_and_the_cli_reads_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let (port, delivered) = smtp_sink();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server = Server::start_with(
        &url,
        Some(SECRET),
        &[
            "--smtp-url",
            &smtp,
            "--mail-from",
            "Acme <noreply@acme.test>",
            "--mail-interval-seconds",
            "1",
        ],
    );
    let roles = run_json(&url, &["roles", "list", "--json"]);
    assert_eq!(roles, json!(["admin", "editor", "viewer"]));
    let set = roster(&url)
        .args(["roles", "set", "admin", "analyst", "editor", "viewer"])
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(String::from_utf8_lossy(&set.stdout).contains("admin, analyst, editor, viewer"));
    let unused = roster(&url)
        .args(["roles", "set", "admin", "analyst", "viewer"])
        .output()
        .unwrap();
    assert!(unused.status.success(), "no user has the editor role");
    assert_eq!(
        run_json(&url, &["roles", "list", "--json"]),
        json!(["admin", "analyst", "viewer"])
    );

    // The server reads the workspace afresh (the CLI changed it behind its back) within
    // its auth cache TTL; a new key is read at once.
    let key = run_json(&url, &["keys", "create", "--json"]);
    let key = key["secret"].as_str().unwrap();
    let (status, user) = server.request(
        "POST",
        "/v1/users",
        Some(key),
        Some(json!({"name": "Ann Lee", "email": "ann@example.com", "role": "analyst"})),
    );
    assert_eq!(status, 201, "{user}");
    let message = delivered.recv_timeout(WAIT).expect("no mail was delivered");
    assert!(message.contains("To: ann@example.com"), "{message}");
    assert!(
        message.contains("From: Acme <noreply@acme.test>"),
        "{message}"
    );
    let start = message.find("inv_").unwrap();
    let token: String = message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let (status, accepted) = server.request(
        "POST",
        "/v1/invitations/accept",
        None,
        Some(json!({"token": token, "password": "a long passphrase"})),
    );
    assert_eq!(
        (status, accepted["status"].as_str()),
        (200, Some("active")),
        "{accepted}"
    );

    // A role in use cannot be removed from the CLI either.
    let refused = roster(&url)
        .args(["roles", "set", "admin"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("analyst"));

    assert_eq!(loop_until_sent(&url), "sent");
    let mails = run_json(&url, &["mail", "list", "--json"]);
    assert_eq!(mails[0]["to"], "ann@example.com");
    assert_eq!(
        mails[0]["text"],
        Value::Null,
        "delivered mail keeps no token"
    );
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
}

/// The delivery is recorded right after the SMTP exchange; read the outbox until it shows.
fn loop_until_sent(url: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let mails = run_json(url, &["mail", "list", "--json"]);
        let status = mails[0]["status"].as_str().unwrap().to_owned();
        if status != "pending" || std::time::Instant::now() > deadline {
            return status;
        }
    }
}

#[test]
fn mail_list_shows_the_catcher_text_without_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let server = Server::start(&url, Some(SECRET));
    let (status, _) = server.request(
        "POST",
        "/v1/users",
        Some(SECRET),
        Some(json!({"name": "Bo", "email": "bo@example.com", "role": "viewer"})),
    );
    assert_eq!(status, 201);
    let output = roster(&url).args(["mail", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("pending  to bo@example.com"), "{text}");
    assert!(text.contains("    | Hello Bo,"), "{text}");
    assert!(text.contains("inv_"), "{text}");
    let bad = roster(&url)
        .args(["mail", "list", "--status", "lost"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "stopped by SIGTERM with exit code 0"
    );
}

// ---- what a newcomer met (issue 13) ----------------------------------------------------

#[test]
fn a_start_that_cannot_listen_creates_nothing_and_prints_no_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let output = roster(&url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("ROSTER_BOOTSTRAP_SECRET_KEY", SECRET)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("sk_live_"));
    assert!(
        !dir.path().join("roster.db").exists(),
        "a database was made"
    );
}

#[test]
fn commands_other_than_serve_and_migrate_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    for args in [
        &["workspaces", "list"][..],
        &["keys", "list", "--workspace", "default"],
        &["audit", "verify"],
    ] {
        let output = roster(&url).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("no Roster database at") && stderr.contains("roster.db"),
            "{args:?}: {stderr}"
        );
        assert!(!dir.path().join("roster.db").exists(), "{args:?} made one");
    }
    assert!(roster(&url)
        .arg("migrate")
        .output()
        .unwrap()
        .status
        .success());
    assert!(dir.path().join("roster.db").exists());
    run_ok(&url, &["workspaces", "list"]);
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    Server::start(&url, Some(SECRET)).terminate();
    for n in 0..30 {
        run_ok(&url, &["workspaces", "create", &format!("w{n}")]);
    }
    // The reader goes away before reading anything (`| true`).
    let mut child = roster(&url)
        .args(["workspaces", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "{stderr}");
}

#[test]
fn postgres_cli_calls_log_no_migration_notices() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = runtime.block_on(roster_store_postgres::testing::fresh_database()) else {
        return;
    };
    assert!(roster(&db.url)
        .arg("migrate")
        .output()
        .unwrap()
        .status
        .success());
    let output = roster(&db.url)
        .args(["workspaces", "list"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("already exists"), "{stderr}");
    runtime.block_on(db.drop_database());
}

/// An audit event row as SQLite keeps it.
type EventRow = (
    String,
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
);

#[test]
fn audit_verify_detects_a_deleted_chain_and_a_hand_moved_checkpoint() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sql = |url: &str, statements: &[&str]| {
        let url = url.to_owned();
        let statements: Vec<String> = statements.iter().map(|s| (*s).to_owned()).collect();
        runtime.block_on(async move {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for statement in statements {
                conn.execute(statement.as_str()).await.unwrap();
            }
        })
    };
    let verify = |url: &str| {
        let output = roster(url).args(["audit", "verify"]).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let installation = || {
        let (dir, url) = installation_with_users(4);
        assert!(verify(&url).0);
        (dir, url)
    };

    // Every event and the chain head deleted: a workspace with users and no chain.
    let (_dir, url) = installation();
    sql(
        &url,
        &["DELETE FROM audit_events", "DELETE FROM audit_heads"],
    );
    let (passed, report) = verify(&url);
    assert!(!passed && report.contains("no audit chain"), "{report}");

    // The oldest events deleted and the checkpoint moved forward by hand to match.
    let (_dir, url) = installation();
    sql(
        &url,
        &[
            "UPDATE audit_heads SET checkpoint_seq = 3,
                 checkpoint_hash = (SELECT hash FROM audit_events WHERE seq = 3)",
            "DELETE FROM audit_events WHERE seq <= 3",
        ],
    );
    let (passed, report) = verify(&url);
    assert!(!passed && report.contains("checkpoint"), "{report}");

    // ...and with a purged event's record forged from a real (young) event: retention of
    // 90 days would have kept it.
    let (_dir, url) = installation();
    let kept: String = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let row: EventRow = sqlx::query_as("SELECT id, workspace_pk, seq, occurred_at, action, actor_kind, actor_id, target_user_id, request_id, ip, user_agent, changes, prev_hash, hash FROM audit_events WHERE seq = 3")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        let at = chrono::DateTime::from_timestamp_micros(row.3).unwrap();
        json!({"id": row.0, "workspace_key": row.1, "seq": row.2, "occurred_at": at,
               "action": row.4, "actor_kind": row.5, "actor_id": row.6, "target_user_id": row.7,
               "request_id": row.8, "ip": row.9, "user_agent": row.10, "changes": row.11,
               "prev_hash": row.12, "hash": row.13})
        .to_string()
    });
    let kept = kept.replace('\'', "''");
    sql(
        &url,
        &[
            &format!(
                "UPDATE audit_heads SET checkpoint_seq = 3,
                     checkpoint_hash = (SELECT hash FROM audit_events WHERE seq = 3),
                     checkpoint_event = '{kept}'"
            ),
            "DELETE FROM audit_events WHERE seq <= 3",
        ],
    );
    let (passed, report) = verify(&url);
    assert!(
        !passed && report.contains("retention of 90 days keeps"),
        "{report}"
    );
}

/// The status of a plain GET (any body).
fn get_status(address: &str, path: &str) -> u16 {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response[9..12].parse().unwrap()
}

/// The path of the console setup link in `text`.
fn setup_path(text: &str, base: &str) -> String {
    let start = text
        .find(&format!("{base}/console/setup?token=cst_"))
        .unwrap_or_else(|| panic!("no setup link at {base} in: {text}"));
    let link = text[start..].split_whitespace().next().unwrap();
    link.strip_prefix(base).unwrap().to_owned()
}

#[test]
fn the_first_start_prints_a_console_setup_link_and_the_cli_prints_more() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let server = Server::start(&url, None);
    let first = setup_path(&server.banner, &format!("http://{}", server.address));
    assert_eq!(
        get_status(&server.address, &first),
        200,
        "the link opens the setup form"
    );

    let printed = run_ok(
        &url,
        &[
            "console",
            "setup-link",
            "--public-url",
            "https://roster.example.com/",
        ],
    );
    let second = setup_path(&printed, "https://roster.example.com");
    assert_ne!(first, second);
    assert_eq!(get_status(&server.address, &second), 200);
    assert_eq!(
        get_status(&server.address, &first),
        200,
        "an earlier link stays valid"
    );
    assert_eq!(
        get_status(&server.address, "/console/setup?token=cst_made-up"),
        404
    );
    assert_eq!(server.terminate().code(), Some(0));

    // A second start of the same database prints neither a key nor a link.
    let again = Server::start(&url, None);
    assert!(!again.banner.contains("/console/setup"), "{}", again.banner);
    assert_eq!(again.terminate().code(), Some(0));
}

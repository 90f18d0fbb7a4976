//! Bulk import and export of users (`POST /v1/users/import`, `GET /v1/users/export`)
//! through the real router, on a fresh SQLite store per test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{app, assert_error, App, Reply};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const ARGON2ID: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

async fn import(app: &App, query: &str, content_type: &str, body: impl Into<Body>) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/users/import{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap();
    app.send(request).await
}

async fn ndjson(app: &App, lines: &[Value]) -> Value {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let reply = import(app, "", "application/x-ndjson", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"].clone()
}

async fn export(app: &App, query: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .uri(format!("/v1/users/export{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn users(app: &App) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/v1/users?limit=100&cursor={c}"),
            None => "/v1/users?limit=100".to_owned(),
        };
        let reply = app.call(Method::GET, &uri, None).await;
        all.extend(reply.body["data"].as_array().unwrap().iter().cloned());
        match reply.body["meta"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

async fn import_events(app: &App) -> Vec<Value> {
    let reply = app
        .call(
            Method::GET,
            "/v1/audit-logs?action=user.import&limit=100",
            None,
        )
        .await;
    reply.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn ndjson_creates_users_and_one_event_per_batch() {
    let app = app().await;
    let report = ndjson(
        &app,
        &[
            json!({"external_id": "e1", "email": "jane@example.com", "name": "Jane", "role": "admin",
                   "given_name": "Jane", "attributes": {"team": "blue"}}),
            json!({"external_id": "e2", "email": "bob@example.com", "name": "Bob", "role": "viewer",
                   "status": "inactive", "password_hash": ARGON2ID}),
        ],
    )
    .await;
    assert_eq!(
        (&report["rows"], &report["created"], &report["rejected"]),
        (&json!(2), &json!(2), &json!(0))
    );
    let all = users(&app).await;
    let jane = all.iter().find(|u| u["external_id"] == "e1").unwrap();
    assert_eq!(jane["status"], "active", "imported users default to active");
    assert_eq!(jane["attributes"], json!({"team": "blue"}));
    let bob = all.iter().find(|u| u["external_id"] == "e2").unwrap();
    assert_eq!(bob["status"], "inactive");
    assert!(bob.get("password_hash").is_none());

    let events = import_events(&app).await;
    assert_eq!(events.len(), 1, "one batch, one event");
    let changes = events[0]["changes"].to_string();
    assert!(changes.contains(jane["id"].as_str().unwrap()));
    assert!(
        !changes.contains("argon2"),
        "hashes never reach the log: {changes}"
    );
}

#[tokio::test]
async fn csv_reads_a_header_quotes_and_attribute_columns() {
    let app = app().await;
    let body = "external_id,email,name,role,attributes.team,family_name\n\
                c1,ann@example.com,\"Lee, Ann\",editor,red,Lee\n\
                \n\
                c2,max@example.com,Max,viewer,,\n";
    let reply = import(&app, "", "text/csv", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"]["created"], 2);
    let all = users(&app).await;
    let ann = all.iter().find(|u| u["external_id"] == "c1").unwrap();
    assert_eq!(ann["name"], "Lee, Ann");
    assert_eq!(ann["family_name"], "Lee");
    assert_eq!(ann["attributes"], json!({"team": "red"}));
    let max = all.iter().find(|u| u["external_id"] == "c2").unwrap();
    assert_eq!(max["attributes"], json!({}), "empty cells are absent");
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_leave_nothing() {
    let app = app().await;
    app.create(json!({"name": "Taken", "email": "taken@example.com", "role": "viewer"}))
        .await;
    let body = [
        r#"{"external_id": "ok1", "email": "ok1@example.com", "name": "Ok", "role": "viewer"}"#,
        r#"{"external_id": "b1", "email": "not-an-email", "name": "Bad", "role": "viewer"}"#,
        r#"{"external_id": "b2", "email": "b2@example.com", "name": "Bad", "role": "overlord"}"#,
        r#"{"external_id": "b3", "email": "b3@example.com", "role": "viewer"}"#,
        r#"{not json"#,
        r#"{"external_id": "b5", "email": "taken@example.com", "name": "Clash", "role": "viewer"}"#,
        r#"{"external_id": "ok1", "email": "dup@example.com", "name": "Dup", "role": "viewer"}"#,
        r#"{"external_id": "b7", "email": "b7@example.com", "name": "H", "role": "viewer", "password_hash": "hunter2"}"#,
        r#"{"external_id": "b8", "email": "b8@example.com", "name": "U", "role": "viewer", "nickname": "x"}"#,
        r#"{"external_id": "ok2", "email": "ok2@example.com", "name": "Ok", "role": "viewer"}"#,
    ]
    .join("\n");
    let reply = import(&app, "?format=ndjson", "application/octet-stream", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let report = &reply.body["data"];
    assert_eq!(report["rows"], 10);
    assert_eq!(report["created"], 2);
    assert_eq!(report["rejected"], 8);
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (2, "invalid_email"),
            (3, "unknown_role"),
            (4, "field_required"),
            (5, "invalid_row"),
            (6, "email_taken"),
            (7, "duplicate_row"),
            (8, "invalid_password_hash"),
            (9, "invalid_row"),
        ]
    );
    // Only the two good rows and the user created before exist.
    let emails: Vec<String> = users(&app)
        .await
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emails.len(), 3, "{emails:?}");
    assert!(emails.contains(&"ok1@example.com".to_owned()));
    assert!(emails.contains(&"ok2@example.com".to_owned()));
}

#[tokio::test]
async fn reimporting_updates_and_never_duplicates() {
    let app = app().await;
    let rows = [
        json!({"external_id": "r1", "email": "r1@example.com", "name": "One", "role": "viewer"}),
        json!({"email": "r2@example.com", "name": "Two", "role": "viewer"}),
    ];
    assert_eq!(ndjson(&app, &rows).await["created"], 2);
    let again = ndjson(&app, &rows).await;
    assert_eq!(
        (&again["created"], &again["updated"], &again["unchanged"]),
        (&json!(0), &json!(0), &json!(2)),
        "{again}"
    );
    // Changed values update the same users (by external id; by email without one).
    let changed = ndjson(
        &app,
        &[
            json!({"external_id": "r1", "email": "one@example.com", "name": "One Renamed", "role": "admin"}),
            json!({"email": "R2@example.com", "name": "Two Renamed"}),
        ],
    )
    .await;
    assert_eq!(changed["updated"], 2, "{changed}");
    let all = users(&app).await;
    assert_eq!(all.len(), 2);
    let one = all.iter().find(|u| u["external_id"] == "r1").unwrap();
    assert_eq!(
        (&one["email"], &one["name"], &one["role"]),
        (
            &json!("one@example.com"),
            &json!("One Renamed"),
            &json!("admin")
        )
    );
    let two = all.iter().find(|u| u["name"] == "Two Renamed").unwrap();
    assert_eq!(two["role"], "viewer", "absent fields are left alone");
}

#[tokio::test]
async fn an_export_imports_back_unchanged() {
    let app = app().await;
    for n in 0..130 {
        app.create(
            json!({"name": format!("U{n}"), "email": format!("u{n}@example.com"),
                          "role": "editor", "external_id": format!("x{n}"),
                          "attributes": {"n": n}}),
        )
        .await;
    }
    for format in ["ndjson", "csv"] {
        let (status, text) = export(&app, &format!("?format={format}")).await;
        assert_eq!(status, StatusCode::OK);
        let lines = text.lines().count();
        assert_eq!(lines, if format == "csv" { 131 } else { 130 }, "{format}");
        // Importing the export back changes nothing.
        let content_type = if format == "csv" {
            "text/csv"
        } else {
            "application/x-ndjson"
        };
        let reply = import(&app, "", content_type, text).await;
        let report = &reply.body["data"];
        assert_eq!(report["unchanged"], 130, "{format}: {report}");
        assert_eq!(report["rejected"], 0, "{format}: {report}");
    }
    let (_, text) = export(&app, "?role=editor&format=ndjson").await;
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["attributes"]["n"], 129, "newest first");
    assert!(first.get("password_hash").is_none());
}

#[tokio::test]
async fn bad_format_header_scope_and_oversized_lines() {
    let app = app().await;
    let reply = import(&app, "?format=xml", "text/plain", "x").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unsupported_format");
    let reply = import(&app, "", "text/csv", "email,nickname\nx@example.com,x\n").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_import_header");
    assert!(users(&app).await.is_empty());

    let reader = app.key_with(&["users:read"]).await;
    let reply = app
        .call_as(Some(&reader), Method::POST, "/v1/users/import", None)
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "missing_scope_users_write");
    let (status, _) = export(&app, "?format=pdf").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A 100 KiB line is rejected without being held; the lines around it are read.
    let long = format!(
        r#"{{"email": "long@example.com", "name": "{}", "role": "viewer"}}"#,
        "x".repeat(100 * 1024)
    );
    let body = format!(
        "{}\n{long}\n{}\n",
        json!({"email": "a@example.com", "name": "A", "role": "viewer"}),
        json!({"email": "b@example.com", "name": "B", "role": "viewer"})
    );
    let reply = import(&app, "", "application/x-ndjson", body).await;
    let report = &reply.body["data"];
    assert_eq!(
        (&report["created"], &report["rejected"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(report["errors"][0]["line"], 2);
}

#[tokio::test]
async fn a_hundred_thousand_rows_stream_in_batches() {
    let app = app().await;
    let chunks = (0..100).map(|chunk| {
        let text: String = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                format!(
                    "{{\"external_id\":\"ext{n}\",\"email\":\"user{n}@example.com\",\"name\":\"User {n}\",\"role\":\"viewer\"}}\n"
                )
            })
            .collect();
        Ok::<_, std::io::Error>(axum::body::Bytes::from(text))
    });
    let body = Body::from_stream(futures_util::stream::iter(chunks.collect::<Vec<_>>()));
    let reply = import(&app, "", "application/x-ndjson", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"]["created"], 100_000);
    assert_eq!(reply.body["data"]["rejected"], 0);
    let reply = app
        .call(Method::GET, "/v1/users?email=user99999@example.com", None)
        .await;
    assert_eq!(reply.body["data"][0]["external_id"], "ext99999");
    let events = app
        .call(
            Method::GET,
            "/v1/audit-logs?action=user.import&limit=100",
            None,
        )
        .await;
    let batches = 100_000usize.div_ceil(roster_core::import::BATCH_SIZE);
    assert_eq!(
        events.body["data"].as_array().unwrap().len(),
        batches,
        "one event per batch"
    );
}

/// Every field creation takes, in an import: `send_invitation` (false by default) invites a
/// new user and queues its mail in the batch's transaction, with the row's `message`; a
/// plain `password` is checked and stored as argon2id.
async fn imports_take_what_creation_takes(app: App) {
    let report = ndjson(
        &app,
        &[
            json!({"name": "Ann", "email": "ann@example.com", "role": "viewer",
                   "send_invitation": true, "message": "Welcome aboard"}),
            json!({"name": "Bo", "email": "bo@example.com", "role": "viewer",
                   "password": "correct horse battery"}),
            json!({"name": "Cy", "email": "cy@example.com", "role": "viewer", "password": "short"}),
            json!({"name": "Di", "email": "di@example.com", "role": "viewer",
                   "send_invitation": true, "status": "active"}),
        ],
    )
    .await;
    assert_eq!(
        (report["created"].clone(), report["rejected"].clone()),
        (json!(2), json!(2)),
        "{report}"
    );
    let codes: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, [(3, "password_too_short"), (4, "invalid_field")]);
    let ann = app
        .call(Method::GET, "/v1/users/lookup?email=ann@example.com", None)
        .await;
    assert_eq!(ann.body["status"], "invited");
    let outbox = app
        .call(Method::GET, "/v1/outbox?status=pending", None)
        .await;
    let mails = outbox.body["data"].as_array().unwrap();
    assert_eq!(mails.len(), 1, "{}", outbox.body);
    assert_eq!(mails[0]["to"], "ann@example.com");
    assert!(mails[0]["text"]
        .as_str()
        .unwrap()
        .contains("Welcome aboard"));
    let signed_in = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "bo@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::CREATED, "{}", signed_in.body);
    // Running the same file again sends nothing again.
    let again = ndjson(
        &app,
        &[
            json!({"name": "Ann", "email": "ann@example.com", "role": "viewer",
                 "send_invitation": true, "message": "Welcome aboard"}),
        ],
    )
    .await;
    assert_eq!(again["unchanged"], 1, "{again}");
    let outbox = app
        .call(Method::GET, "/v1/outbox?status=pending", None)
        .await;
    assert_eq!(outbox.body["data"].as_array().unwrap().len(), 1);
    // CSV names the same columns.
    let csv = "name,email,role,send_invitation,message\nEd,ed@example.com,viewer,true,Hi there\n";
    let reply = import(&app, "", "text/csv", csv).await;
    assert_eq!(reply.body["data"]["created"], 1, "{}", reply.body);
    let ed = app
        .call(Method::GET, "/v1/users/lookup?email=ed@example.com", None)
        .await;
    assert_eq!(ed.body["status"], "invited");
}

on_both_stores!(imports_take_what_creation_takes);

//! Seed 001 (`/v1/apps/{appId}/users[/{humanId}]`): every request the seed shows, replayed
//! with the test's own ids and key, on SQLite and PostgreSQL; then the cases it implies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use common::{App, Reply};
use serde_json::{json, Value};

on_both_stores!(
    users_of_an_app_as_the_seed_shows,
    implied_cases_answer_in_the_dialect_format,
);

/// A request with the key as the Basic user and a blank password, as `curl -u KEY:` sends.
async fn basic(app: &App, key: &str, method: Method, uri: &str) -> Reply {
    let credential = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, "application/json")
        .header(header::AUTHORIZATION, format!("Basic {credential}"))
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

#[track_caller]
fn assert_human_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["statusCode"], status.as_u16());
    assert_eq!(reply.body["code"], code);
}

async fn app_id(app: &App) -> String {
    app.roster.find_workspace("default").await.unwrap().id
}

async fn users_of_an_app_as_the_seed_shows(app: App) {
    let app_id = app_id(&app).await;
    for (n, external) in ["alice@example.com", "bob@example.com", "carol@example.com"]
        .iter()
        .enumerate()
    {
        app.create(json!({"name": format!("User {n}"), "email": format!("u{n}@example.com"), "role": "viewer", "external_id": external}))
            .await;
        app.clock.advance(chrono::Duration::milliseconds(436));
    }
    // GET /v1/apps/{appId}/users
    let reply = basic(
        &app,
        &app.key,
        Method::GET,
        &format!("/v1/apps/{app_id}/users"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let users = reply.body.as_array().unwrap();
    assert_eq!(users.len(), 3);
    let first = &users[2];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "exactly the seed's properties: {keys:?}");
    assert_eq!(first["externalId"], "alice@example.com");
    assert_eq!(first["appId"], app_id.as_str());
    assert_eq!(first["createdAt"], "2024-11-15T08:30:00.000Z");
    assert_eq!(users[1]["createdAt"], "2024-11-15T08:30:00.436Z");
    let human = first["humanId"].as_str().unwrap().to_owned();
    assert_eq!(human.len(), 32);
    // GET /v1/apps/{appId}/users/{humanId}
    let one = basic(
        &app,
        &app.key,
        Method::GET,
        &format!("/v1/apps/{app_id}/users/{human}"),
    )
    .await;
    assert_eq!((one.status, &one.body), (StatusCode::OK, first));
    // DELETE /v1/apps/{appId}/users/{humanId}: 204.
    let gone = basic(
        &app,
        &app.key,
        Method::DELETE,
        &format!("/v1/apps/{app_id}/users/{human}"),
    )
    .await;
    assert_eq!(
        (gone.status, &gone.body),
        (StatusCode::NO_CONTENT, &Value::Null)
    );
    let reply = basic(
        &app,
        &app.key,
        Method::GET,
        &format!("/v1/apps/{app_id}/users"),
    )
    .await;
    assert_eq!(reply.body.as_array().unwrap().len(), 2);
    // Visible through the native API and seed 000 alike.
    let native = app
        .call(
            Method::GET,
            "/v1/users?include_deleted=true&limit=100",
            None,
        )
        .await;
    let deleted: Vec<&Value> = native.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["deleted_at"].is_string())
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["external_id"], "alice@example.com");
    // An empty app is an empty array.
    let other = app
        .roster
        .create_workspace(&roster_core::AuditContext::operator(), "empty", None)
        .await
        .unwrap();
    let key = app.key_in(&other, &["users:read"]).await;
    let reply = basic(
        &app,
        &key,
        Method::GET,
        &format!("/v1/apps/{}/users", other.id),
    )
    .await;
    assert_eq!(reply.body, json!([]));
}

async fn implied_cases_answer_in_the_dialect_format(app: App) {
    let app_id = app_id(&app).await;
    app.create(json!({"name": "U", "email": "u@example.com", "role": "viewer"}))
        .await;
    let none = app
        .call_as(None, Method::GET, &format!("/v1/apps/{app_id}/users"), None)
        .await;
    assert_human_error(&none, StatusCode::UNAUTHORIZED, "invalid_api_key");
    assert!(none.headers.contains_key(header::WWW_AUTHENTICATE));
    let wrong = basic(
        &app,
        "sk_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        Method::GET,
        &format!("/v1/apps/{app_id}/users"),
    )
    .await;
    assert_human_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_api_key");
    // A password in Basic is refused (the seed: a blank password).
    let credential =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:secret", app.key));
    let request = Request::get(format!("/v1/apps/{app_id}/users"))
        .header(header::AUTHORIZATION, format!("Basic {credential}"))
        .body(Body::empty())
        .unwrap();
    assert_human_error(
        &app.send(request).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    );
    // Another app's id, with this app's key: not found.
    let other = app
        .roster
        .create_workspace(&roster_core::AuditContext::operator(), "other", None)
        .await
        .unwrap();
    let reply = basic(
        &app,
        &app.key,
        Method::GET,
        &format!("/v1/apps/{}/users", other.id),
    )
    .await;
    assert_human_error(&reply, StatusCode::NOT_FOUND, "workspace_not_found");
    for unknown in ["0123456789abcdef0123456789abcdef", "xyz"] {
        let reply = basic(
            &app,
            &app.key,
            Method::GET,
            &format!("/v1/apps/{app_id}/users/{unknown}"),
        )
        .await;
        assert_human_error(&reply, StatusCode::NOT_FOUND, "user_not_found");
        let reply = basic(
            &app,
            &app.key,
            Method::DELETE,
            &format!("/v1/apps/{app_id}/users/{unknown}"),
        )
        .await;
        assert_human_error(&reply, StatusCode::NOT_FOUND, "user_not_found");
    }
    // A read-only key cannot delete.
    let reader = app.key_with(&["users:read"]).await;
    let list = basic(
        &app,
        &reader,
        Method::GET,
        &format!("/v1/apps/{app_id}/users"),
    )
    .await;
    let human = list.body[0]["humanId"].as_str().unwrap().to_owned();
    let reply = basic(
        &app,
        &reader,
        Method::DELETE,
        &format!("/v1/apps/{app_id}/users/{human}"),
    )
    .await;
    assert_human_error(&reply, StatusCode::FORBIDDEN, "missing_scope_users_write");
}

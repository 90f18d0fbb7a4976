//! One core under every surface: a change made through one dialect is visible through every
//! other and through `/v1`, on SQLite and PostgreSQL.
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

on_both_stores!(a_change_through_one_dialect_shows_through_all);

async fn with_header(
    app: &App,
    name: &str,
    value: String,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(name, value)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    app.send(request).await
}

async fn a_change_through_one_dialect_shows_through_all(app: App) {
    let key = app.key.clone();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    );
    let app_id = app.roster.find_workspace("default").await.unwrap().id;

    // Created through seed 004.
    let made = with_header(
        &app,
        "x-user-token",
        key.clone(),
        Method::POST,
        "/integration-api/v1/dashboard/users",
        Some(
            json!({"email": "ann@example.com", "external_id": "ann-1", "new_password": "Abcd1234"}),
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let id = made.body["data"]["id"].as_i64().unwrap();
    let uuid = made.body["data"]["uuid"].as_str().unwrap().replace('-', "");

    // Seen by seed 000, 001, 003 and /v1.
    let s000 = app
        .call(Method::GET, &format!("/api/v1/users/{uuid}"), None)
        .await;
    assert_eq!(
        (
            s000.body["clientUserId"].as_str(),
            s000.body["status"].as_str()
        ),
        (Some("ann-1"), Some("All Synced"))
    );
    let s001 = with_header(
        &app,
        "authorization",
        basic.clone(),
        Method::GET,
        &format!("/v1/apps/{app_id}/users/{uuid}"),
        None,
    )
    .await;
    assert_eq!(s001.body["externalId"], "ann-1");
    let s003 = with_header(
        &app,
        "x-holistics-key",
        key.clone(),
        Method::GET,
        "/users/get_user.json/?email=ann@example.com",
        None,
    )
    .await;
    assert_eq!(s003.body["id"], id);
    let native = app
        .call(Method::GET, "/v1/users/lookup?email=ann@example.com", None)
        .await;
    assert_eq!(native.body["external_id"], "ann-1");
    let native_id = native.body["id"].as_str().unwrap().to_owned();

    // Renamed and allowed a token through seed 003; seen by /v1.
    let patched = with_header(
        &app,
        "x-holistics-key",
        key.clone(),
        Method::PATCH,
        &format!("/users/{id}.json"),
        Some(json!({"name": "Ann Lee", "allow_authentication_token": true})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let native = app
        .call(Method::GET, &format!("/v1/users/{native_id}"), None)
        .await;
    assert_eq!(
        (
            native.body["name"].as_str(),
            native.body["allow_authentication_token"].as_bool()
        ),
        (Some("Ann Lee"), Some(true))
    );
    let s000 = app
        .call(Method::GET, &format!("/api/v1/users/{uuid}"), None)
        .await;
    assert_eq!(
        (
            s000.body["firstName"].as_str(),
            s000.body["lastName"].as_str()
        ),
        (Some("Ann"), Some("Lee"))
    );

    // Deactivated through seed 004: Declined in seed 000, not activated in seed 003.
    with_header(
        &app,
        "x-user-token",
        key.clone(),
        Method::DELETE,
        &format!("/integration-api/v1/dashboard/users/{id}"),
        None,
    )
    .await;
    let s000 = app
        .call(Method::GET, &format!("/api/v1/users/{uuid}"), None)
        .await;
    assert_eq!(s000.body["status"], "Declined");
    let s003 = with_header(
        &app,
        "x-holistics-key",
        key.clone(),
        Method::GET,
        "/users.json",
        None,
    )
    .await;
    assert_eq!(s003.body[0]["is_activated"], false);

    // Deleted through seed 001: gone from seed 000's list, deleted in seed 003's, 404 on /v1.
    let deleted = with_header(
        &app,
        "authorization",
        basic,
        Method::DELETE,
        &format!("/v1/apps/{app_id}/users/{uuid}"),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call(Method::GET, "/api/v1/users", None).await.body,
        json!([])
    );
    let s003 = with_header(
        &app,
        "x-holistics-key",
        key.clone(),
        Method::GET,
        "/users.json",
        None,
    )
    .await;
    assert_eq!(s003.body[0]["is_deleted"], true);
    assert_eq!(
        app.call(Method::GET, &format!("/v1/users/{native_id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Restored through seed 003: back everywhere.
    let restored = with_header(
        &app,
        "x-holistics-key",
        key,
        Method::POST,
        "/users/restore.json",
        Some(json!({"id": id})),
    )
    .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(
        app.call(Method::GET, "/api/v1/users", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

//! What a hostile client, a fuzzer and a newcomer found (issue 13): each case failed before
//! its fix. Through the real router.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use common::{app, assert_error, App};
use serde_json::{json, Value};

/// A request from `ip`, as the server sees it with connection info.
fn from(ip: &str, method: Method, uri: &str, body: Value) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

async fn key_id_of(app: &App, name: &str) -> String {
    let list = app.call(Method::GET, "/v1/api-keys", None).await;
    list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .unwrap_or_else(|| panic!("no key named {name}: {}", list.body))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn new_key(app: &App, as_key: &str, name: &str, scopes: &[&str]) -> (String, String) {
    let reply = app
        .call_as(
            Some(as_key),
            Method::POST,
            "/v1/api-keys",
            Some(json!({"name": name, "scopes": scopes})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    (
        reply.body["id"].as_str().unwrap().to_owned(),
        reply.body["secret"].as_str().unwrap().to_owned(),
    )
}

// ---- 3: the token exchange and invitation acceptance back off per address ---------------

#[tokio::test]
async fn wrong_client_secrets_back_off_per_address() {
    let app = app().await;
    let wrong = json!({"client_id": "0".repeat(40), "client_secret": "nope", "type": "client"});
    for _ in 0..5 {
        let reply = app
            .send(from(
                "203.0.113.7",
                Method::POST,
                "/v1/admin/token",
                wrong.clone(),
            ))
            .await;
        assert_error(
            &reply,
            StatusCode::UNAUTHORIZED,
            "invalid_client_credentials",
        );
    }
    let refused = app
        .send(from(
            "203.0.113.7",
            Method::POST,
            "/v1/admin/token",
            wrong.clone(),
        ))
        .await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    // Another address is not slowed down.
    let other = app
        .send(from("203.0.113.8", Method::POST, "/v1/admin/token", wrong))
        .await;
    assert_error(
        &other,
        StatusCode::UNAUTHORIZED,
        "invalid_client_credentials",
    );
}

#[tokio::test]
async fn unknown_invitation_tokens_back_off_per_address() {
    let app = app().await;
    let body = json!({"token": format!("inv_{}", "A".repeat(43))});
    for _ in 0..5 {
        let reply = app
            .send(from(
                "203.0.113.9",
                Method::POST,
                "/v1/invitations/accept",
                body.clone(),
            ))
            .await;
        assert_error(&reply, StatusCode::NOT_FOUND, "invitation_not_found");
    }
    let refused = app
        .send(from(
            "203.0.113.9",
            Method::POST,
            "/v1/invitations/accept",
            body,
        ))
        .await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

// ---- 4: no credential operation reaches wider than the caller ---------------------------

#[tokio::test]
async fn a_credentials_manager_cannot_revoke_or_change_wider_credentials() {
    let app = app().await;
    let (_, manager) = new_key(&app, &app.key, "manager", &["credentials:manage"]).await;
    let admin_id = key_id_of(&app, "bootstrap admin key").await;
    let refused = app
        .call_as(
            Some(&manager),
            Method::DELETE,
            &format!("/v1/api-keys/{admin_id}"),
            None,
        )
        .await;
    assert_error(&refused, StatusCode::FORBIDDEN, "scope_not_delegable");
    let (reader_id, _) = new_key(&app, &app.key, "reader", &["users:read"]).await;
    let reader = app
        .call_as(
            Some(&manager),
            Method::DELETE,
            &format!("/v1/api-keys/{reader_id}"),
            None,
        )
        .await;
    assert_error(&reader, StatusCode::FORBIDDEN, "scope_not_delegable");

    // A client with audit:read is out of reach of a manager that lacks it, for changes too.
    let made = app
        .call(
            Method::POST,
            "/v1/api-clients",
            Some(json!({"name": "auditor", "scopes": ["audit:read"]})),
        )
        .await;
    let client_id = made.body["client_id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/api-clients/{client_id}");
    let patch = app
        .call_as(
            Some(&manager),
            Method::PATCH,
            &uri,
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_error(&patch, StatusCode::FORBIDDEN, "scope_not_delegable");
    let revoke = app
        .call_as(Some(&manager), Method::DELETE, &uri, None)
        .await;
    assert_error(&revoke, StatusCode::FORBIDDEN, "scope_not_delegable");
    // Nothing was revoked.
    assert_eq!(
        app.call(Method::GET, &uri, None).await.status,
        StatusCode::OK
    );
    // Within its own scopes a manager still manages.
    let (own_id, _) = new_key(&app, &manager, "own", &["credentials:manage"]).await;
    let own = app
        .call_as(
            Some(&manager),
            Method::DELETE,
            &format!("/v1/api-keys/{own_id}"),
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::NO_CONTENT, "{}", own.body);
}

#[tokio::test]
async fn the_last_admin_credential_of_the_operator_workspace_stays() {
    let app = app().await;
    let admin_id = key_id_of(&app, "bootstrap admin key").await;
    let refused = app
        .call(Method::DELETE, &format!("/v1/api-keys/{admin_id}"), None)
        .await;
    assert_error(&refused, StatusCode::CONFLICT, "last_admin_credential");
    assert_eq!(
        app.call(Method::GET, "/v1/api-keys", None).await.status,
        StatusCode::OK,
        "the key still works"
    );
    // An admin client with the admin API on is an admin credential too: with it, the key
    // may go; then the client may neither be revoked nor lose admin.
    let made = app
        .call(
            Method::POST,
            "/v1/api-clients",
            Some(json!({"name": "ops", "scopes": ["admin"], "admin_api_enabled": true})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let client_id = made.body["client_id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/api-clients/{client_id}");
    let (second, manager) = new_key(&app, &app.key, "second", &["admin"]).await;
    let gone = app
        .call(Method::DELETE, &format!("/v1/api-keys/{admin_id}"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    let last_key = app
        .call_as(
            Some(&manager),
            Method::DELETE,
            &format!("/v1/api-keys/{second}"),
            None,
        )
        .await;
    assert_eq!(last_key.status, StatusCode::NO_CONTENT, "{}", last_key.body);
    for (method, body) in [
        (Method::PATCH, Some(json!({"admin_api_enabled": false}))),
        (Method::PATCH, Some(json!({"scopes": ["users:write"]}))),
        (Method::DELETE, None),
    ] {
        let token = client_token(&app, &client_id, &made.body).await;
        let refused = app.call_as(Some(&token), method, &uri, body).await;
        assert_error(&refused, StatusCode::CONFLICT, "last_admin_credential");
    }
}

async fn client_token(app: &App, client_id: &str, made: &Value) -> String {
    let reply = app
        .call_as(
            None,
            Method::POST,
            "/v1/admin/token",
            Some(json!({
                "client_id": client_id,
                "client_secret": made["client_secret"],
                "type": "client"
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["client_token"].as_str().unwrap().to_owned()
}

// ---- 5: a changed limit applies to the bucket as it stands ------------------------------

#[tokio::test]
async fn changing_a_rate_limit_hands_out_no_fresh_budget() {
    let app = app().await;
    let (_, limited) = new_key(&app, &app.key, "limited", &["users:read"]).await;
    // The one who changes the limit has a limit of its own, so the workspace's is not its.
    let setter = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"name": "setter", "scopes": ["admin"], "rate_limit_per_minute": 100})),
        )
        .await;
    let setter = setter.body["secret"].as_str().unwrap().to_owned();
    let ws = app.call(Method::GET, "/v1/workspaces", None).await;
    let ws_id = ws.body["data"][0]["id"].as_str().unwrap().to_owned();
    let set = |limit: u32| {
        let uri = format!("/v1/workspaces/{ws_id}");
        let (app, setter) = (&app, &setter);
        async move {
            let reply = app
                .call_as(
                    Some(setter),
                    Method::PATCH,
                    &uri,
                    Some(json!({"rate_limit_per_minute": limit})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    };
    set(3).await;
    for _ in 0..3 {
        let reply = app
            .call_as(Some(&limited), Method::GET, "/v1/users", None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    set(4).await;
    let one_more = app
        .call_as(Some(&limited), Method::GET, "/v1/users", None)
        .await;
    assert_eq!(one_more.status, StatusCode::OK, "{}", one_more.body);
    assert_eq!(one_more.headers["x-ratelimit-remaining"], "0");
    let refused = app
        .call_as(Some(&limited), Method::GET, "/v1/users", None)
        .await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

// ---- 1: password work is bounded and an abandoned sign-in still counts --------------------

#[tokio::test]
async fn imported_hashes_beyond_the_cost_bounds_are_row_errors() {
    let app = app().await;
    let salt = "R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
    let lines = [
        json!({"name": "Ok", "role": "viewer", "email": "ok@example.com", "password_hash": format!("$2b$12${salt}")}),
        json!({"name": "Slow", "role": "viewer", "email": "slow@example.com", "password_hash": format!("$2b$31${salt}")}),
        json!({"name": "Huge", "role": "viewer", "email": "huge@example.com", "password_hash":
            "$argon2id$v=19$m=1048576,t=50,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/users/import")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from(lines))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let errors = reply.body["data"]["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![2, 3], "{}", reply.body);
    for error in errors {
        assert_eq!(error["code"], "invalid_password_hash", "{}", reply.body);
    }
}

#[tokio::test]
async fn an_abandoned_sign_in_is_still_counted_and_audited() {
    let app = app().await;
    app.create(
        json!({"name": "Ann", "email": "ann@example.com", "role": "viewer",
                      "send_invitation": false, "password": "correct horse 1"}),
    )
    .await;
    let ws = app.roster.find_workspace("default").await.unwrap();
    let ctx = roster_core::AuditContext::operator();
    for _ in 0..5 {
        let attempt = app.roster.sign_in(
            &ws,
            &ctx,
            roster_core::SignIn {
                email: Some("ann@example.com".into()),
                password: Some("wrong password".into()),
                ..roster_core::SignIn::default()
            },
        );
        // Polled once, then dropped, as a disconnecting client's request is.
        let abandoned = tokio::time::timeout(std::time::Duration::ZERO, attempt).await;
        assert!(abandoned.is_err(), "the attempt cannot have finished yet");
    }
    // The five attempts end on their own; wait (bounded) until their events are written.
    let mut failed = 0;
    for _ in 0..1_000 {
        let events = app
            .call(Method::GET, "/v1/audit-logs?action=user.login_failed", None)
            .await;
        failed = events.body["data"].as_array().map_or(0, Vec::len);
        if failed == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(failed, 5);
    let throttled = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "ann@example.com", "password": "correct horse 1"})),
        )
        .await;
    assert_error(
        &throttled,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    );
}

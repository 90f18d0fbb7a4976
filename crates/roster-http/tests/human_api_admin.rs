//! Seed 000 (`/v1/admin/token`, `/api/v1/users[/{humanId}]`): every request the seed shows,
//! replayed with the test's own ids and credentials, on SQLite and PostgreSQL; then the cases
//! the seed implies (unknown ids, another workspace's users, missing or wrong credentials).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Reply};
use serde_json::{json, Value};

on_both_stores!(
    token_exchange_then_users_as_the_seed_shows,
    delete_is_soft_and_retires_the_client_user_id,
    implied_cases_answer_in_the_dialect_format,
);

/// A client with the admin API on, and its token from `POST /v1/admin/token` as the seed
/// sends it.
async fn client_token(app: &App) -> String {
    let made = app
        .call(
            Method::POST,
            "/v1/api-clients",
            Some(json!({"admin_api_enabled": true})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let reply = app
        .call_as(
            None,
            Method::POST,
            "/v1/admin/token",
            Some(json!({
                "client_id": made.body["client_id"],
                "client_secret": made.body["client_secret"],
                "type": "client"
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["expires_in"], 86400);
    reply.body["client_token"].as_str().unwrap().to_owned()
}

/// A Human API error: status, reason phrase, message and code.
#[track_caller]
fn assert_human_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["statusCode"], status.as_u16());
    assert_eq!(reply.body["error"], status.canonical_reason().unwrap());
    assert_eq!(reply.body["code"], code);
    assert!(reply.body["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

async fn seed_users(app: &App) -> Vec<Value> {
    let mut made = Vec::new();
    for (given, family, ext, email, invite) in [
        ("Sam", "Doe", "Human_441272526", "sam@example.com", false),
        ("John", "Doe", "Human_337596920", "john@example.com", true),
    ] {
        made.push(
            app.create(json!({"name": format!("{given} {family}"), "given_name": given, "family_name": family,
                              "email": email, "role": "viewer", "external_id": ext, "send_invitation": invite}))
                .await,
        );
    }
    made
}

async fn token_exchange_then_users_as_the_seed_shows(app: App) {
    let token = client_token(&app).await;
    let users = seed_users(&app).await;
    // GET /api/v1/users
    let reply = app
        .call_as(Some(&token), Method::GET, "/api/v1/users", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let listed = reply.body.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let sam = &listed[1];
    let human_id = sam["humanId"].as_str().unwrap();
    assert!(
        human_id.len() == 32
            && human_id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(sam["firstName"], "Sam");
    assert_eq!(sam["lastName"], "Doe");
    assert_eq!(sam["clientUserId"], "Human_441272526");
    assert_eq!(sam["clientUserEmail"], "sam@example.com");
    assert_eq!(sam["createdAt"], "2024-11-15T08:30:00.000Z");
    assert_eq!(sam["updatedAt"], "2024-11-15T08:30:00.000Z");
    assert_eq!(sam["status"], "All Synced");
    assert_eq!(listed[0]["status"], "Engaged", "an invited user");
    let keys: Vec<&str> = sam
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 8, "exactly the seed's fields: {keys:?}");
    // GET /api/v1/users/{humanId}
    let one = app
        .call_as(
            Some(&token),
            Method::GET,
            &format!("/api/v1/users/{human_id}"),
            None,
        )
        .await;
    assert_eq!((one.status, &one.body), (StatusCode::OK, sam));
    // The same user through the native API.
    let native = app
        .call(
            Method::GET,
            &format!("/v1/users/{}", users[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(native.body["external_id"], "Human_441272526");
    // A deactivated user is Declined.
    app.call(
        Method::POST,
        &format!("/v1/users/{}/deactivate", users[0]["id"].as_str().unwrap()),
        None,
    )
    .await;
    let one = app
        .call_as(
            Some(&token),
            Method::GET,
            &format!("/api/v1/users/{human_id}"),
            None,
        )
        .await;
    assert_eq!(one.body["status"], "Declined");
}

async fn delete_is_soft_and_retires_the_client_user_id(app: App) {
    let token = client_token(&app).await;
    let users = seed_users(&app).await;
    let list = app
        .call_as(Some(&token), Method::GET, "/api/v1/users", None)
        .await;
    let human_id = list.body[1]["humanId"].as_str().unwrap().to_owned();
    // DELETE /api/v1/users/{humanId}: 200 and an empty body.
    let reply = app
        .call_as(
            Some(&token),
            Method::DELETE,
            &format!("/api/v1/users/{human_id}"),
            None,
        )
        .await;
    assert_eq!((reply.status, &reply.body), (StatusCode::OK, &Value::Null));
    let list = app
        .call_as(Some(&token), Method::GET, "/api/v1/users", None)
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "gone from the list");
    let again = app
        .call_as(
            Some(&token),
            Method::GET,
            &format!("/api/v1/users/{human_id}"),
            None,
        )
        .await;
    assert_human_error(&again, StatusCode::NOT_FOUND, "user_not_found");
    // "you may receive a 403 error if you attempt to recreate a user with the same client_user_id"
    let recreate = app
        .call(Method::POST, "/v1/users", Some(json!({"name": "Sam Doe", "email": "sam2@example.com", "role": "viewer", "external_id": "Human_441272526"})))
        .await;
    assert_eq!(recreate.status, StatusCode::FORBIDDEN, "{}", recreate.body);
    // The native API sees the soft delete; the audit log has it, by the client.
    let id = users[0]["id"].as_str().unwrap();
    let read = app
        .call(
            Method::GET,
            &format!("/v1/users/{id}?include_deleted=true"),
            None,
        )
        .await;
    assert!(read.body["deleted_at"].is_string());
    let events = app
        .call(
            Method::GET,
            &format!("/v1/audit-logs?user_id={id}&action=user.delete"),
            None,
        )
        .await;
    assert_eq!(events.body["data"][0]["actor"]["kind"], "api_client");
}

async fn implied_cases_answer_in_the_dialect_format(app: App) {
    let token = client_token(&app).await;
    seed_users(&app).await;
    let none = app.call_as(None, Method::GET, "/api/v1/users", None).await;
    assert_human_error(&none, StatusCode::UNAUTHORIZED, "invalid_api_key");
    let forged = app
        .call_as(Some("eyJ.eyJ.sig"), Method::GET, "/api/v1/users", None)
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", forged.body);
    for unknown in [
        "0123456789abcdef0123456789abcdef",
        "not-a-human-id",
        "usr_x",
    ] {
        let reply = app
            .call_as(
                Some(&token),
                Method::GET,
                &format!("/api/v1/users/{unknown}"),
                None,
            )
            .await;
        assert_human_error(&reply, StatusCode::NOT_FOUND, "user_not_found");
        let reply = app
            .call_as(
                Some(&token),
                Method::DELETE,
                &format!("/api/v1/users/{unknown}"),
                None,
            )
            .await;
        assert_human_error(&reply, StatusCode::NOT_FOUND, "user_not_found");
    }
    // Another workspace's user is not found.
    let other = app
        .roster
        .create_workspace(&roster_core::AuditContext::operator(), "other", None)
        .await
        .unwrap();
    let other_key = app.key_in(&other, &["admin"]).await;
    let foreign = app
        .call_as(
            Some(&other_key),
            Method::POST,
            "/v1/users",
            Some(json!({"name": "F", "email": "f@example.com", "role": "viewer"})),
        )
        .await;
    let foreign_human = app
        .call_as(Some(&other_key), Method::GET, "/api/v1/users", None)
        .await
        .body[0]["humanId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(foreign.status, StatusCode::CREATED);
    let reply = app
        .call_as(
            Some(&token),
            Method::GET,
            &format!("/api/v1/users/{foreign_human}"),
            None,
        )
        .await;
    assert_human_error(&reply, StatusCode::NOT_FOUND, "user_not_found");
    // A client whose admin API is off.
    let made = app
        .call(Method::POST, "/v1/api-clients", Some(json!({})))
        .await;
    let off = app
        .call_as(None, Method::POST, "/v1/admin/token", Some(json!({"client_id": made.body["client_id"], "client_secret": made.body["client_secret"], "type": "client"})))
        .await;
    if off.status == StatusCode::OK {
        let reply = app
            .call_as(
                Some(off.body["client_token"].as_str().unwrap()),
                Method::GET,
                "/api/v1/users",
                None,
            )
            .await;
        assert_human_error(&reply, StatusCode::FORBIDDEN, "admin_api_disabled");
    } else {
        assert_eq!(off.status, StatusCode::FORBIDDEN, "{}", off.body);
    }
    let wrong_method = app
        .call_as(Some(&token), Method::POST, "/api/v1/users", Some(json!({})))
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_dialect_switched_off_is_not_served() {
    use tower::ServiceExt;
    let app = common::app().await;
    let token = client_token(&app).await;
    let off = roster_http::dialects::Dialects {
        human_api_admin: false,
        ..Default::default()
    };
    let router = roster_http::router_with(app.roster.clone(), off);
    let request = axum::http::Request::get("/api/v1/users")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // The token exchange is the native module's and stays.
    let on = app
        .call_as(Some(&token), Method::GET, "/api/v1/users", None)
        .await;
    assert_eq!(on.status, StatusCode::OK);
}

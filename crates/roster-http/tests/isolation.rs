//! Workspace isolation: a second workspace's credentials, a secret key and a client token,
//! walk every route against the first workspace's records. Unknown-to-you ids are 404,
//! lists show only your own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::http::{Method, StatusCode};
use common::{app, assert_error};
use roster_core::{AuditContext, ClientRequest, Scope, TokenRequest};
use serde_json::{json, Value};

#[tokio::test]
async fn another_workspace_sees_and_changes_nothing() {
    let app = app().await;
    // Workspace A (default): a user, a key, a client.
    let user = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/users",
            Some(json!({"name": "A", "email": "a@a.io", "role": "admin", "external_id": "a-1"})),
        )
        .await
        .body;
    let user_uri = format!("/v1/users/{}", user["id"].as_str().unwrap());
    let a_key = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/api-keys",
            Some(json!({"scopes": ["users:read"]})),
        )
        .await
        .body;
    let a_client = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/api-clients",
            Some(json!({"admin_api_enabled": true})),
        )
        .await
        .body;
    let client_uri = format!(
        "/v1/api-clients/{}",
        a_client["client_id"].as_str().unwrap()
    );

    // Workspace B: an admin key and a client token.
    let b = app
        .roster
        .create_workspace(&AuditContext::operator(), "globex", None)
        .await
        .unwrap();
    let b_key = app.key_in(&b, &["admin"]).await;
    let b_client = app
        .roster
        .create_api_client(
            &b,
            &AuditContext::operator(),
            ClientRequest {
                admin_api_enabled: true,
                scopes: Some(vec!["admin".into()]),
                ..ClientRequest::default()
            },
            &[Scope::Admin],
        )
        .await
        .unwrap();
    let b_token = app
        .roster
        .issue_client_token(TokenRequest {
            client_id: Some(b_client.client.client_id.clone()),
            client_secret: Some(b_client.secret.clone()),
            ip: None,
            kind: Some("client".into()),
        })
        .await
        .unwrap()
        .token;

    for (n, credential) in [&b_key, &b_token].into_iter().enumerate() {
        let walks: Vec<(Method, String, Option<Value>, &str)> = vec![
            (Method::GET, user_uri.clone(), None, "user_not_found"),
            (
                Method::PATCH,
                user_uri.clone(),
                Some(json!({"name": "owned"})),
                "user_not_found",
            ),
            (Method::DELETE, user_uri.clone(), None, "user_not_found"),
            (
                Method::DELETE,
                format!("/v1/api-keys/{}", a_key["id"].as_str().unwrap()),
                None,
                "api_key_not_found",
            ),
            (
                Method::GET,
                client_uri.clone(),
                None,
                "api_client_not_found",
            ),
            (
                Method::PATCH,
                client_uri.clone(),
                Some(json!({"admin_api_enabled": false})),
                "api_client_not_found",
            ),
            (
                Method::DELETE,
                client_uri.clone(),
                None,
                "api_client_not_found",
            ),
        ];
        for (method, uri, body, code) in walks {
            let reply = app
                .call_as(Some(credential), method.clone(), &uri, body)
                .await;
            assert_error(&reply, StatusCode::NOT_FOUND, code);
        }
        for (uri, own) in [
            ("/v1/users", 0),
            ("/v1/api-keys", 1),
            ("/v1/api-clients", 1),
        ] {
            let reply = app.call_as(Some(credential), Method::GET, uri, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{uri}");
            assert_eq!(
                reply.body["data"].as_array().unwrap().len(),
                own,
                "{uri}: {}",
                reply.body
            );
        }
        for query in ["email=a@a.io", "search=a.io", "role=admin"] {
            let reply = app
                .call_as(
                    Some(credential),
                    Method::GET,
                    &format!("/v1/users?{query}"),
                    None,
                )
                .await;
            assert_eq!(reply.body["data"], json!([]), "{query}");
        }
        // A's email and external id are free in B: both are unique per workspace.
        let external_id = if n == 0 { "a-1" } else { "b-2" };
        let body =
            json!({"name": "B", "email": "a@a.io", "role": "viewer", "external_id": external_id});
        let reply = app
            .call_as(Some(credential), Method::POST, "/v1/users", Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        let deleted = app
            .call_as(
                Some(credential),
                Method::DELETE,
                &format!("/v1/users/{id}"),
                None,
            )
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let reply = app
            .call_as(Some(credential), Method::GET, "/v1/workspaces", None)
            .await;
        assert_error(&reply, StatusCode::FORBIDDEN, "operator_workspace_required");
    }

    // A's records are untouched and A's credentials still work.
    assert_eq!(
        app.call_as(Some(&app.key), Method::GET, &user_uri, None)
            .await
            .body,
        user
    );
    let a_secret = a_key["secret"].as_str().unwrap();
    assert_eq!(
        app.call_as(Some(a_secret), Method::GET, "/v1/users", None)
            .await
            .status,
        StatusCode::OK
    );
    let client = app
        .call_as(Some(&app.key), Method::GET, &client_uri, None)
        .await
        .body;
    assert_eq!(client["admin_api_enabled"], true);
}

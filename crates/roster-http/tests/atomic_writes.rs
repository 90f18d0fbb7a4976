//! A composite write is one transaction: a failure injected after the first primitive of
//! seed 004's create-with-plan, and of a multi-field update, leaves nothing written and no
//! event, on SQLite and PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{App, Reply};
use serde_json::{json, Value};

on_both_stores!(
    a_create_with_a_plan_that_fails_midway_leaves_nothing,
    an_update_of_many_fields_that_fails_midway_leaves_nothing,
);

const USERS: &str = "/integration-api/v1/dashboard/users";

async fn seed(app: &App, method: Method, uri: &str, body: Value) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("X-User-Token", &app.key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

/// A group and its seed-004 plan id.
async fn plan(app: &App, name: &str) -> i64 {
    let group = app
        .call(Method::POST, "/v1/groups", Some(json!({"name": name})))
        .await
        .body;
    let ws = app.roster.find_workspace("default").await.unwrap();
    app.roster
        .get_group(&ws, group["id"].as_str().unwrap())
        .await
        .unwrap()
        .key
}

async fn events(app: &App) -> u64 {
    let ws = app.roster.find_workspace("default").await.unwrap();
    app.roster.audit_event_count(&ws).await.unwrap()
}

async fn signs_in(app: &App, email: &str, password: &str) -> bool {
    let reply = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": email, "password": password})),
        )
        .await;
    reply.status == StatusCode::CREATED
}

async fn a_create_with_a_plan_that_fails_midway_leaves_nothing(app: App) {
    let gold = plan(&app, "Gold").await;
    let before = events(&app).await;
    app.roster.abort_user_writes_after_first_primitive();
    let body = json!({"email": "gold@example.com", "external_id": "gold-1",
                      "new_password": "Abcd1234", "assign_new_plan": gold});
    let reply = seed(&app, Method::POST, USERS, body).await;
    assert_eq!(
        reply.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        reply.body
    );

    let found = app
        .call(Method::GET, "/v1/users/lookup?email=gold@example.com", None)
        .await;
    assert_eq!(found.status, StatusCode::NOT_FOUND, "{}", found.body);
    assert_eq!(events(&app).await, before, "no event without the change");
    let members = app.call(Method::GET, "/v1/groups", None).await.body;
    let group_id = members["data"][0]["id"].as_str().unwrap().to_owned();
    let members = app
        .call(Method::GET, &format!("/v1/groups/{group_id}/members"), None)
        .await;
    assert_eq!(members.body["data"], json!([]), "{}", members.body);
}

async fn an_update_of_many_fields_that_fails_midway_leaves_nothing(app: App) {
    let gold = plan(&app, "Gold").await;
    let created = seed(
        &app,
        Method::POST,
        USERS,
        json!({"email": "ann@example.com", "external_id": "ann-1", "new_password": "Abcd1234"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let id = created.body["data"]["id"].as_i64().unwrap();
    let stored = app
        .call(Method::GET, "/v1/users/lookup?email=ann@example.com", None)
        .await
        .body;
    let before = events(&app).await;

    app.roster.abort_user_writes_after_first_primitive();
    let change = json!({"email": "ann.b@example.com", "external_id": "ann-2", "admin": 1,
                        "sessions_limit": 2, "new_password": "Efgh5678",
                        "assign_new_plan": gold});
    let reply = seed(&app, Method::PUT, &format!("{USERS}/{id}"), change).await;
    assert_eq!(
        reply.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        reply.body
    );

    let after = app
        .call(Method::GET, "/v1/users/lookup?email=ann@example.com", None)
        .await
        .body;
    assert_eq!(after, stored, "the user's fields are as they were");
    assert_eq!(events(&app).await, before, "no event without the change");
    assert!(signs_in(&app, "ann@example.com", "Abcd1234").await);
    assert!(!signs_in(&app, "ann@example.com", "Efgh5678").await);
    let listed = seed(
        &app,
        Method::GET,
        &format!("{USERS}?email=ann@example.com"),
        Value::Null,
    )
    .await;
    assert_eq!(
        listed.body["data"]["paginator"]["data"][0]["user_plans_count"], 0,
        "{}",
        listed.body
    );
}

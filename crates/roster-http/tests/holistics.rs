//! Seed 003 (`/users.json`, `/users/invite.json`, …): every request the seed shows, replayed
//! with the test's own ids and key (bodies as written), on SQLite and PostgreSQL, then the
//! cases it implies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{App, Reply};
use serde_json::{json, Value};

on_both_stores!(
    every_call_of_the_seed,
    implied_cases_answer_in_the_dialect_format,
);

async fn call(
    app: &App,
    key: Option<&str>,
    method: Method,
    uri: &str,
    body: Option<&str>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        request = request.header("X-Holistics-Key", key);
    }
    let request = request
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    app.send(request).await
}

async fn seed(app: &App, method: Method, uri: &str, body: Option<&str>) -> Reply {
    call(app, Some(&app.key), method, uri, body).await
}

#[track_caller]
fn assert_ok(reply: &Reply) {
    assert_eq!(
        (reply.status, &reply.body),
        (StatusCode::OK, &json!({"status": "ok"})),
        "{}",
        reply.body
    );
}

#[track_caller]
fn assert_errors(reply: &Reply, status: StatusCode, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body, json!({"errors": [message]}));
}

async fn user_id(app: &App, email: &str) -> i64 {
    let reply = seed(
        app,
        Method::GET,
        &format!("/users/get_user.json/?email={email}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["id"].as_i64().unwrap()
}

async fn every_call_of_the_seed(app: App) {
    // POST /users/invite.json, body as written (role "user"), email swapped for a real one.
    let invite = r#"{
"name": "Test",
"email": "test@example.com",
"role": "user",
"message": "Hey, let's join MyCompany workspace on Holistics"
}"#;
    assert_ok(&seed(&app, Method::POST, "/users/invite.json", Some(invite)).await);
    let outbox = app.call(Method::GET, "/v1/outbox", None).await;
    assert!(outbox.body["data"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Hey, let's join MyCompany workspace"));
    // Again: "Email already existed".
    assert_errors(
        &seed(&app, Method::POST, "/users/invite.json", Some(invite)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Email already existed",
    );
    let id = user_id(&app, "test@example.com").await;

    // POST /users/{id}/resend_invite.json
    assert_ok(
        &seed(
            &app,
            Method::POST,
            &format!("/users/{id}/resend_invite.json"),
            None,
        )
        .await,
    );

    // GET /users.json: the full user.
    let listed = seed(&app, Method::GET, "/users.json", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let user = &listed.body[0];
    assert_eq!(user["id"], id);
    assert_eq!(
        (
            user["name"].as_str(),
            user["email"].as_str(),
            user["role"].as_str()
        ),
        (Some("Test"), Some("test@example.com"), Some("viewer"))
    );
    assert_eq!(user["initials"], "Te");
    assert_eq!(
        (user["is_deleted"].as_bool(), user["is_activated"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(
        (
            user["has_authentication_token"].as_bool(),
            user["allow_authentication_token"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert_eq!(
        (&user["current_sign_in_at"], &user["last_sign_in_at"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(user["groups"], json!([]));

    // PATCH /users/{id}.json {"allow_authentication_token": true}
    assert_ok(
        &seed(
            &app,
            Method::PATCH,
            &format!("/users/{id}.json"),
            Some(
                r#"{
"allow_authentication_token": true
}"#,
            ),
        )
        .await,
    );
    // POST /users/{id}/revoke_authentication_token.json
    assert_ok(
        &seed(
            &app,
            Method::POST,
            &format!("/users/{id}/revoke_authentication_token.json"),
            None,
        )
        .await,
    );

    // Groups appear with the tenant id; change_user_role with remove_groups, body as written.
    let group = app
        .call(Method::POST, "/v1/groups", Some(json!({"name": "Capital"})))
        .await
        .body;
    let native_id = app
        .call(Method::GET, "/v1/users/lookup?email=test@example.com", None)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        Method::PUT,
        &format!(
            "/v1/groups/{}/members/{native_id}",
            group["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let listed = seed(&app, Method::GET, "/users.json", None).await;
    let groups = &listed.body[0]["groups"];
    assert_eq!(groups[0]["name"], "Capital");
    let workspace = app.roster.find_workspace("default").await.unwrap();
    assert_eq!(groups[0]["tenant_id"], workspace.key);
    let change =
        format!("{{\nid: {id},\nuser: {{\nrole: \"analyst\",\nremove_groups: true\n}}\n}}");
    assert_ok(
        &seed(
            &app,
            Method::POST,
            "/users/change_user_role.json",
            Some(&change),
        )
        .await,
    );
    let listed = seed(&app, Method::GET, "/users.json", None).await;
    assert_eq!(
        (listed.body[0]["role"].as_str(), &listed.body[0]["groups"]),
        (Some("editor"), &json!([]))
    );

    // GET /users/check_holistics_user.json/?email=…
    let check = seed(
        &app,
        Method::GET,
        "/users/check_holistics_user.json/?email=test@example.com",
        None,
    )
    .await;
    assert_eq!(check.body, json!({"is_already_user": true}));
    let check = seed(
        &app,
        Method::GET,
        "/users/check_holistics_user.json/?email=nobody@example.com",
        None,
    )
    .await;
    assert_eq!(check.body, json!({"is_already_user": false}));
    // GET /users/get_user.json/?email=…
    let found = seed(
        &app,
        Method::GET,
        "/users/get_user.json/?email=test@example.com",
        None,
    )
    .await;
    assert_eq!(
        found.body,
        json!({"id": id, "name": "Test", "email": "test@example.com", "role": "editor", "title": null})
    );

    // POST /users/restore.json on a live user: "User is not deleted".
    let restore = format!("{{\n\"id\": {id}\n}}");
    assert_errors(
        &seed(&app, Method::POST, "/users/restore.json", Some(&restore)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "User is not deleted",
    );
    // DELETE /users/{id}.json, then restore.
    assert_ok(&seed(&app, Method::DELETE, &format!("/users/{id}.json"), None).await);
    let listed = seed(&app, Method::GET, "/users.json", None).await;
    assert_eq!(listed.body[0]["is_deleted"], true);
    assert_ok(&seed(&app, Method::POST, "/users/restore.json", Some(&restore)).await);
    let listed = seed(&app, Method::GET, "/users.json", None).await;
    assert_eq!(listed.body[0]["is_deleted"], false);

    // The same changes through the native API's audit log, by this key.
    let events = app
        .call(
            Method::GET,
            &format!("/v1/audit-logs?user_id={native_id}&limit=100"),
            None,
        )
        .await;
    let mut actions: Vec<&str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "user.create",
            "user.invite",
            "user.update",
            "group.member_add",
            "user.role_change",
            "user.delete",
            "user.restore"
        ]
    );
}

async fn implied_cases_answer_in_the_dialect_format(app: App) {
    let none = call(&app, None, Method::GET, "/users.json", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.body["errors"][0].is_string());
    let wrong = call(&app, Some("sk_live_nope"), Method::GET, "/users.json", None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    for (uri, method) in [
        ("/users/999999/resend_invite.json", Method::POST),
        ("/users/999999.json", Method::DELETE),
        ("/users/abc.json", Method::DELETE),
        (
            "/users/999999/revoke_authentication_token.json",
            Method::POST,
        ),
    ] {
        assert_errors(
            &seed(&app, method, uri, None).await,
            StatusCode::NOT_FOUND,
            "User not found",
        );
    }
    let missing = seed(
        &app,
        Method::GET,
        "/users/get_user.json/?email=nobody@example.com",
        None,
    )
    .await;
    assert_errors(&missing, StatusCode::NOT_FOUND, "User not found");
    for body in [
        r#"{"name": "X", "email": "x@example.com", "role": "owner"}"#,
        r#"{"email": "x@example.com", "role": "user"}"#,
        r#"{"name": "X", "email": "nope", "role": "user"}"#,
        "{not json",
    ] {
        let reply = seed(&app, Method::POST, "/users/invite.json", Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert!(reply.body["errors"][0].is_string());
    }
    assert_eq!(
        seed(&app, Method::GET, "/users.json", None).await.body,
        json!([]),
        "nothing was created"
    );
    // Resending to an active user is refused.
    app.create(json!({"name": "Act", "email": "act@example.com", "role": "viewer", "send_invitation": false})).await;
    let id = user_id(&app, "act@example.com").await;
    let reply = seed(
        &app,
        Method::POST,
        &format!("/users/{id}/resend_invite.json"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another tenant's user is not found.
    let other = app
        .roster
        .create_workspace(&roster_core::AuditContext::operator(), "other", None)
        .await
        .unwrap();
    let other_key = app.key_in(&other, &["admin"]).await;
    let reply = call(
        &app,
        Some(&other_key),
        Method::DELETE,
        &format!("/users/{id}.json"),
        None,
    )
    .await;
    assert_errors(&reply, StatusCode::NOT_FOUND, "User not found");
    let reply = seed(
        &app,
        Method::POST,
        "/users/change_user_role.json",
        Some(&format!(
            "{{\"id\": {id}, \"user\": {{\"role\": \"pilot\"}}}}"
        )),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = seed(&app, Method::POST, "/users/restore.json", Some("{}")).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}

//! The native Users API (seed 002) through the real router, on a fresh SQLite store per test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use common::{app, assert_error, Reply};
use roster_core::AuditContext;
use serde_json::{json, Value};

// ---- seed 002 examples ------------------------------------------------------------------

#[tokio::test]
async fn seed_create_example_gives_201_invited_user() {
    let app = app().await;
    // The seed posts with `curl -d`, which labels the body as a form; it is JSON all the same.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/users")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            r#"{"name": "Alex Morgan", "email": "alex@company.io", "role": "editor"}"#,
        ))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let user = &reply.body;
    assert!(user["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(user["name"], "Alex Morgan");
    assert_eq!(user["email"], "alex@company.io");
    assert_eq!(user["role"], "editor");
    assert_eq!(user["status"], "invited");
    assert_eq!(user["created_at"], "2024-11-15T08:30:00Z");
    assert!(reply.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn seed_list_example_filters_by_role() {
    let app = app().await;
    let jane = app
        .create(json!({"name": "Jane Cooper", "email": "jane@example.com", "role": "admin", "send_invitation": false}))
        .await;
    app.create(json!({"name": "Alex Morgan", "email": "alex@company.io", "role": "editor"}))
        .await;
    let reply = app
        .call(Method::GET, "/v1/users?limit=10&role=admin", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["data"], json!([jane]));
    assert_eq!(
        reply.body["meta"],
        json!({"next_cursor": null, "has_more": false})
    );
    assert_eq!(jane["status"], "active");
}

// ---- authentication ---------------------------------------------------------------------

#[tokio::test]
async fn missing_and_wrong_keys_get_401_with_a_challenge() {
    let app = app().await;
    let no_key = app
        .send(Request::get("/v1/users").body(Body::empty()).unwrap())
        .await;
    assert_error(&no_key, StatusCode::UNAUTHORIZED, "missing_api_key");
    assert!(no_key.headers.contains_key(header::WWW_AUTHENTICATE));
    let forged = format!("sk_live_{}", "A".repeat(43));
    for value in [
        format!("Bearer {forged}"),
        "Bearer".into(),
        format!("Token {}", app.key),
    ] {
        let reply = app
            .send(
                Request::get("/v1/users")
                    .header(header::AUTHORIZATION, value)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_api_key");
        assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE));
    }
}

#[tokio::test]
async fn basic_auth_takes_the_key_as_user_with_a_blank_password() {
    let app = app().await;
    let encode = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let basic = |credentials: String| {
        Request::get("/v1/users")
            .header(
                header::AUTHORIZATION,
                format!("Basic {}", encode(credentials)),
            )
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        app.send(basic(format!("{}:", app.key))).await.status,
        StatusCode::OK
    );
    let with_password = app.send(basic(format!("{}:secret", app.key))).await;
    assert_error(&with_password, StatusCode::UNAUTHORIZED, "invalid_api_key");
}

#[tokio::test]
async fn keys_see_only_their_own_workspace() {
    let app = app().await;
    let jane = app
        .create(json!({"name": "Jane", "email": "jane@example.com", "role": "admin"}))
        .await;
    let other = app
        .roster
        .create_workspace(&AuditContext::operator(), "globex", None)
        .await
        .unwrap();
    let other_key = app.key_in(&other, &["admin"]).await;
    let as_other = |method: Method, uri: String, body: Option<Value>| {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {other_key}"));
        match body {
            Some(b) => request.body(Body::from(b.to_string())).unwrap(),
            None => request.body(Body::empty()).unwrap(),
        }
    };
    let id = jane["id"].as_str().unwrap();
    let list = app
        .send(as_other(Method::GET, "/v1/users".into(), None))
        .await;
    assert_eq!(list.body["data"], json!([]));
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "x"}))),
        (Method::DELETE, None),
    ] {
        let reply = app
            .send(as_other(method, format!("/v1/users/{id}"), body))
            .await;
        assert_error(&reply, StatusCode::NOT_FOUND, "user_not_found");
    }
    // The same email is free in the other workspace.
    let reply = app
        .send(as_other(
            Method::POST,
            "/v1/users".into(),
            Some(json!({"name": "J", "email": "jane@example.com", "role": "viewer"})),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        app.call(Method::GET, &format!("/v1/users/{id}"), None)
            .await
            .body["name"],
        "Jane"
    );
}

// ---- create: bad input ------------------------------------------------------------------

#[tokio::test]
async fn create_requires_name_email_and_role() {
    let app = app().await;
    let full = json!({"name": "Jane", "email": "jane@example.com", "role": "admin"});
    for field in ["name", "email", "role"] {
        for missing in [Value::Null, json!(""), json!("   ")] {
            let mut body = full.clone();
            if missing.is_null() {
                body.as_object_mut().unwrap().remove(field);
            } else {
                body[field] = missing;
            }
            let reply = app.call(Method::POST, "/v1/users", Some(body)).await;
            assert_error(&reply, StatusCode::BAD_REQUEST, "field_required");
            assert_eq!(reply.body["error"]["field"], field);
        }
    }
}

#[tokio::test]
async fn create_rejects_every_malformed_field() {
    let app = app().await;
    let base = json!({"name": "Jane", "email": "jane@example.com", "role": "admin"});
    let long = |n: usize| json!("x".repeat(n));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("name", json!(5), "invalid_body"),
        ("name", long(257), "field_too_long"),
        ("name", json!("a\u{7}b"), "invalid_field"),
        ("email", json!("not-an-email"), "invalid_email"),
        ("email", json!("jane@localhost"), "invalid_email"),
        (
            "email",
            json!(format!("{}@example.com", "a".repeat(250))),
            "field_too_long",
        ),
        ("email", json!(["jane@example.com"]), "invalid_body"),
        ("role", json!("owner"), "unknown_role"),
        ("role", json!(true), "invalid_body"),
        ("send_invitation", json!("yes"), "invalid_body"),
        ("external_id", long(256), "field_too_long"),
        ("external_id", json!(""), "invalid_field"),
        ("external_id", json!(12), "invalid_body"),
        ("given_name", long(129), "field_too_long"),
        ("family_name", long(129), "field_too_long"),
        ("family_name", json!({}), "invalid_body"),
        ("attributes", json!([1, 2]), "invalid_attributes"),
        ("attributes", json!("plan"), "invalid_attributes"),
        (
            "attributes",
            json!({"blob": "x".repeat(17 * 1024)}),
            "invalid_attributes",
        ),
        ("status", json!("active"), "invalid_body"),
        ("nickname", json!("JJ"), "invalid_body"),
    ];
    for (field, value, code) in cases {
        let mut body = base.clone();
        body[field] = value;
        let reply = app.call(Method::POST, "/v1/users", Some(body)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code);
    }
    // Nothing was written by any of them.
    let list = app.call(Method::GET, "/v1/users", None).await;
    assert_eq!(list.body["data"], json!([]));
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused() {
    let app = app().await;
    for body in ["", "{", "{\"name\": }", "[]", "null", "{\"name\":\"a\"} {}"] {
        let reply = app
            .call_raw(Method::POST, "/v1/users", Some(body.into()))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        let code = reply.body["error"]["code"].as_str().unwrap();
        assert!(
            code == "invalid_json" || code == "invalid_body",
            "{body}: {code}"
        );
    }
    let huge = json!({"name": "x".repeat(roster_http::MAX_BODY_BYTES), "email": "a@b.co", "role": "admin"});
    let reply = app.call(Method::POST, "/v1/users", Some(huge)).await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn user_names_default_to_the_email_and_are_unique_whatever_their_case() {
    let app = app().await;
    let jane = app
        .create(json!({"name": "Jane", "email": "Jane@Example.com", "role": "admin"}))
        .await;
    assert_eq!(jane["user_name"], "Jane@Example.com");
    let bob = app
        .create(json!({"name": "Bob", "email": "bob@example.com", "role": "admin", "user_name": "BOB\\corp"}))
        .await;
    assert_eq!(bob["user_name"], "BOB\\corp");

    let taken = app
        .call(Method::POST, "/v1/users", Some(json!({"name": "B2", "email": "b2@example.com", "role": "admin", "user_name": "bob\\CORP"})))
        .await;
    assert_error(&taken, StatusCode::CONFLICT, "user_name_taken");
    let id = bob["id"].as_str().unwrap();
    let renamed = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Some(json!({"user_name": "jane@example.COM"})),
        )
        .await;
    assert_error(&renamed, StatusCode::CONFLICT, "user_name_taken");
    let renamed = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Some(json!({"user_name": " bob.corp "})),
        )
        .await;
    assert_eq!(renamed.body["user_name"], "bob.corp", "{}", renamed.body);
    // Changing the email leaves the user name as it is.
    let moved = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Some(json!({"email": "robert@example.com"})),
        )
        .await;
    assert_eq!(moved.body["user_name"], "bob.corp");
    for bad in [
        json!(""),
        json!("   "),
        json!("a\u{7}b"),
        json!("x".repeat(256)),
    ] {
        let refused = app
            .call(
                Method::PATCH,
                &format!("/v1/users/{id}"),
                Some(json!({"user_name": bad})),
            )
            .await;
        let code = refused.body["error"]["code"].as_str().unwrap_or_default();
        assert!(
            ["field_required", "invalid_field", "field_too_long"].contains(&code),
            "{bad}: {}",
            refused.body
        );
    }
    let kept = app
        .call(Method::GET, &format!("/v1/users/{id}"), None)
        .await;
    assert_eq!(kept.body["user_name"], "bob.corp");
    // The change is audited.
    let events = app
        .call(Method::GET, &format!("/v1/audit-logs?user_id={id}"), None)
        .await
        .body;
    let renames: Vec<&serde_json::Value> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["changes"].get("user_name").is_some())
        .collect();
    assert_eq!(renames[0]["changes"]["user_name"]["after"], "bob.corp");
}

#[tokio::test]
async fn taken_emails_and_external_ids_conflict() {
    let app = app().await;
    let jane = app
        .create(json!({"name": "Jane", "email": "Jane@Example.com", "role": "admin", "external_id": "crm-1"}))
        .await;
    assert_eq!(jane["email"], "Jane@Example.com");
    let same_email = app
        .call(
            Method::POST,
            "/v1/users",
            Some(json!({"name": "J2", "email": " jane@example.COM ", "role": "admin"})),
        )
        .await;
    assert_error(&same_email, StatusCode::CONFLICT, "email_taken");
    let same_external = app
        .call(Method::POST, "/v1/users", Some(json!({"name": "J3", "email": "j3@example.com", "role": "admin", "external_id": "crm-1"})))
        .await;
    assert_error(&same_external, StatusCode::CONFLICT, "external_id_taken");
    // Once Jane is deleted her email is free, but her external id is retired (seed 000).
    let id = jane["id"].as_str().unwrap();
    assert_eq!(
        app.call(Method::DELETE, &format!("/v1/users/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.create(json!({"name": "New Jane", "email": "jane@example.com", "role": "admin"}))
        .await;
    let retired = app
        .call(Method::POST, "/v1/users", Some(json!({"name": "J4", "email": "j4@example.com", "role": "admin", "external_id": "crm-1"})))
        .await;
    assert_error(&retired, StatusCode::FORBIDDEN, "external_id_retired");
}

// ---- read, update, delete ---------------------------------------------------------------

#[tokio::test]
async fn get_reads_one_user_and_404s_otherwise() {
    let app = app().await;
    let jane = app
        .create(json!({
            "name": "Jane Cooper", "email": "jane@example.com", "role": "admin",
            "external_id": "crm-1", "given_name": "Jane", "family_name": "Cooper",
            "attributes": {"plan": "pro"}
        }))
        .await;
    let id = jane["id"].as_str().unwrap();
    let reply = app
        .call(Method::GET, &format!("/v1/users/{id}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, jane);
    assert_eq!(jane["attributes"], json!({"plan": "pro"}));
    assert_eq!(jane["external_id"], "crm-1");
    for missing in ["usr_doesnotexist", "not-an-id", "usr_UPPER", "usr_"] {
        let reply = app
            .call(Method::GET, &format!("/v1/users/{missing}"), None)
            .await;
        assert_error(&reply, StatusCode::NOT_FOUND, "user_not_found");
    }
}

#[tokio::test]
async fn patch_changes_only_what_it_names() {
    let app = app().await;
    let jane = app
        .create(json!({
            "name": "Jane", "email": "jane@example.com", "role": "viewer",
            "given_name": "Jane", "attributes": {"plan": "pro", "seats": 3}
        }))
        .await;
    let uri = format!("/v1/users/{}", jane["id"].as_str().unwrap());
    let reply = app
        .call(
            Method::PATCH,
            &uri,
            Some(json!({
                "name": "Jane Cooper", "role": "editor", "given_name": null,
                "family_name": "Cooper", "attributes": {"seats": null, "team": "core"}
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let updated = reply.body;
    assert_eq!(updated["name"], "Jane Cooper");
    assert_eq!(updated["role"], "editor");
    assert_eq!(updated["given_name"], Value::Null);
    assert_eq!(updated["family_name"], "Cooper");
    assert_eq!(
        updated["attributes"],
        json!({"plan": "pro", "team": "core"})
    );
    assert_eq!(updated["email"], jane["email"]);
    assert_eq!(updated["status"], "invited");
    assert_eq!(app.call(Method::GET, &uri, None).await.body, updated);
    // An empty patch changes nothing.
    assert_eq!(
        app.call(Method::PATCH, &uri, Some(json!({}))).await.body,
        updated
    );
    // Status: activate, deactivate, never back to invited.
    assert_eq!(
        app.call(Method::PATCH, &uri, Some(json!({"status": "active"})))
            .await
            .body["status"],
        "active"
    );
    assert_eq!(
        app.call(Method::PATCH, &uri, Some(json!({"status": "inactive"})))
            .await
            .body["status"],
        "inactive"
    );
    let back = app
        .call(Method::PATCH, &uri, Some(json!({"status": "invited"})))
        .await;
    assert_error(&back, StatusCode::BAD_REQUEST, "invalid_status_transition");
}

#[tokio::test]
async fn patch_moves_updated_at_only() {
    let app = app().await;
    let jane = app
        .create(json!({"name": "Jane", "email": "jane@example.com", "role": "viewer"}))
        .await;
    let uri = format!("/v1/users/{}", jane["id"].as_str().unwrap());
    app.clock.advance(chrono::Duration::minutes(90));
    let updated = app
        .call(Method::PATCH, &uri, Some(json!({"name": "Jane C"})))
        .await
        .body;
    assert_eq!(updated["created_at"], "2024-11-15T08:30:00Z");
    assert_eq!(updated["updated_at"], "2024-11-15T10:00:00Z");
    // A patch that changes nothing does not touch updated_at.
    app.clock.advance(chrono::Duration::minutes(1));
    let same = app
        .call(Method::PATCH, &uri, Some(json!({"name": "Jane C"})))
        .await
        .body;
    assert_eq!(same["updated_at"], "2024-11-15T10:00:00Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_one_user_lose_nothing() {
    let app = Arc::new(app().await);
    let jane = app
        .create(json!({"name": "Jane", "email": "jane@example.com", "role": "viewer"}))
        .await;
    let uri = format!("/v1/users/{}", jane["id"].as_str().unwrap());
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (app, uri) = (app.clone(), uri.clone());
        tasks.push(tokio::spawn(async move {
            let patch = json!({"attributes": {format!("k{n}"): n}});
            app.call(Method::PATCH, &uri, Some(patch)).await.status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let attributes = app.call(Method::GET, &uri, None).await.body["attributes"].clone();
    let expected: serde_json::Map<String, Value> =
        (0..8).map(|n| (format!("k{n}"), json!(n))).collect();
    assert_eq!(attributes, Value::Object(expected));
}

#[tokio::test]
async fn patch_validates_like_create() {
    let app = app().await;
    let jane = app
        .create(json!({"name": "Jane", "email": "jane@example.com", "role": "viewer"}))
        .await;
    app.create(
        json!({"name": "Bob", "email": "bob@example.com", "role": "viewer", "external_id": "b-1"}),
    )
    .await;
    let uri = format!("/v1/users/{}", jane["id"].as_str().unwrap());
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"name": null}),
            StatusCode::BAD_REQUEST,
            "field_required",
        ),
        (
            json!({"name": ""}),
            StatusCode::BAD_REQUEST,
            "field_required",
        ),
        (
            json!({"name": "x".repeat(300)}),
            StatusCode::BAD_REQUEST,
            "field_too_long",
        ),
        (
            json!({"email": "nope"}),
            StatusCode::BAD_REQUEST,
            "invalid_email",
        ),
        (
            json!({"email": null}),
            StatusCode::BAD_REQUEST,
            "field_required",
        ),
        (
            json!({"role": "owner"}),
            StatusCode::BAD_REQUEST,
            "unknown_role",
        ),
        (
            json!({"status": "deleted"}),
            StatusCode::BAD_REQUEST,
            "invalid_status",
        ),
        (
            json!({"status": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"attributes": [1]}),
            StatusCode::BAD_REQUEST,
            "invalid_attributes",
        ),
        (
            json!({"id": "usr_other"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"email": "BOB@example.com"}),
            StatusCode::CONFLICT,
            "email_taken",
        ),
        (
            json!({"external_id": "b-1"}),
            StatusCode::CONFLICT,
            "external_id_taken",
        ),
    ];
    for (body, status, code) in cases {
        let reply = app.call(Method::PATCH, &uri, Some(body.clone())).await;
        assert_error(&reply, status, code);
    }
    assert_eq!(
        app.call(Method::GET, &uri, None).await.body,
        jane,
        "no failed patch wrote anything"
    );
    let missing = app
        .call(
            Method::PATCH,
            "/v1/users/usr_nobody",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "user_not_found");
}

#[tokio::test]
async fn delete_is_soft_and_final_for_the_api() {
    let app = app().await;
    let jane = app
        .create(json!({"name": "Jane", "email": "jane@example.com", "role": "viewer"}))
        .await;
    let bob = app
        .create(json!({"name": "Bob", "email": "bob@example.com", "role": "viewer"}))
        .await;
    let uri = format!("/v1/users/{}", jane["id"].as_str().unwrap());
    let reply = app.call(Method::DELETE, &uri, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.body, Value::Null);
    assert_error(
        &app.call(Method::GET, &uri, None).await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    assert_error(
        &app.call(Method::DELETE, &uri, None).await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    assert_error(
        &app.call(Method::PATCH, &uri, Some(json!({"name": "x"})))
            .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    let list = app.call(Method::GET, "/v1/users", None).await;
    assert_eq!(list.body["data"], json!([bob]));
    // Soft: the row is still there for restore and audit.
    let ws = app.roster.find_workspace("default").await.unwrap();
    let stored = app
        .store
        .get_user(ws.key, jane["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.deleted_at.is_some());
}

// ---- list -------------------------------------------------------------------------------

#[tokio::test]
async fn cursor_walk_sees_every_user_once_newest_first() {
    let app = app().await;
    let mut made = Vec::new();
    for n in 0..7 {
        made.push(
            app.create_named(n, "viewer").await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut uri = "/v1/users?limit=3".to_owned();
    loop {
        let reply = app.call(Method::GET, &uri, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        seen.extend(
            reply.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        let meta = &reply.body["meta"];
        if !meta["has_more"].as_bool().unwrap() {
            assert_eq!(meta["next_cursor"], Value::Null);
            break;
        }
        // Users created mid-walk do not disturb it.
        app.create_named(100 + seen.len(), "viewer").await;
        uri = format!(
            "/v1/users?limit=3&cursor={}",
            meta["next_cursor"].as_str().unwrap()
        );
    }
    made.reverse();
    assert_eq!(seen, made);
}

#[tokio::test]
async fn list_filters_combine() {
    let app = app().await;
    let mut by_n = Vec::new();
    for (n, role) in ["admin", "editor", "viewer", "admin", "editor", "admin"]
        .iter()
        .enumerate()
    {
        by_n.push(app.create_named(n, role).await);
    }
    let ids = |reply: &Reply| -> Vec<String> {
        reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let get = |q: &str| {
        let uri = format!("/v1/users?{q}");
        let app = &app;
        async move { app.call(Method::GET, &uri, None).await }
    };
    assert_eq!(
        ids(&get("role=admin").await),
        ["User 5", "User 3", "User 0"]
    );
    // Even n were invited, odd n were created active.
    assert_eq!(
        ids(&get("role=admin&status=active").await),
        ["User 5", "User 3"]
    );
    assert_eq!(
        ids(&get("status=invited").await),
        ["User 4", "User 2", "User 0"]
    );
    assert_eq!(ids(&get("search=USER4").await), ["User 4"]);
    assert_eq!(ids(&get("q=er%202").await), ["User 2"]);
    assert_eq!(ids(&get("email=User1%40Example.com").await), ["User 1"]);
    assert_eq!(
        ids(&get("search=example.com&role=editor").await),
        ["User 4", "User 1"]
    );
    assert_eq!(ids(&get("search=nobody").await), Vec::<String>::new());
    let page = get("limit=2&role=admin").await;
    assert_eq!(page.body["meta"]["has_more"], true);
    // Made inactive users are filtered too.
    let uri = format!("/v1/users/{}", by_n[3]["id"].as_str().unwrap());
    app.call(Method::PATCH, &uri, Some(json!({"status": "inactive"})))
        .await;
    assert_eq!(ids(&get("status=inactive").await), ["User 3"]);
}

#[tokio::test]
async fn list_rejects_bad_parameters() {
    let app = app().await;
    app.create_named(1, "viewer").await;
    app.create_named(2, "viewer").await;
    let first = app.call(Method::GET, "/v1/users?limit=1", None).await;
    let cursor = first.body["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tampered = cursor.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let cases = [
        ("limit=0".to_owned(), "invalid_limit"),
        ("limit=101".to_owned(), "invalid_limit"),
        ("limit=-1".to_owned(), "invalid_parameter"),
        ("limit=ten".to_owned(), "invalid_parameter"),
        ("limit=1&limit=2".to_owned(), "invalid_parameter"),
        ("role=owner".to_owned(), "unknown_role"),
        ("status=deleted".to_owned(), "invalid_status"),
        ("search=".to_owned() + &"x".repeat(200), "field_too_long"),
        ("search=ab".to_owned(), "search_too_short"),
        ("q=m%C3%BC".to_owned(), "search_too_short"),
        (format!("cursor={tampered}"), "invalid_cursor"),
        ("cursor=eyJpZCI6ICJ1c3Jf".to_owned(), "invalid_cursor"),
        (format!("cursor={cursor}&role=admin"), "invalid_cursor"),
    ];
    for (query, code) in cases {
        let reply = app
            .call(Method::GET, &format!("/v1/users?{query}"), None)
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code);
    }
    let ok = app
        .call(
            Method::GET,
            &format!("/v1/users?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["data"][0]["name"], "User 1");
    // Unknown parameters are ignored, as most clients expect.
    assert_eq!(
        app.call(Method::GET, "/v1/users?expand=all", None)
            .await
            .status,
        StatusCode::OK
    );
}

// ---- cross-cutting ----------------------------------------------------------------------

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = app().await;
    let request = Request::get("/v1/users/usr_missing")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .header("x-request-id", "trace-123.abc")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.headers["x-request-id"], "trace-123.abc");
    assert_eq!(reply.body["error"]["request_id"], "trace-123.abc");
    let request = Request::get("/healthz")
        .header("x-request-id", "bad id with spaces")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert!(reply.headers["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_envelope() {
    let app = app().await;
    assert_error(
        &app.call(Method::GET, "/v1/nothing", None).await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    );
    assert_error(
        &app.call(Method::PUT, "/v1/users", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let app = app().await;
    let health = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (health.status, health.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let ready = app
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (ready.status, ready.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );
}

#[tokio::test]
async fn openapi_document_is_served_and_matches_the_committed_copy() {
    let app = app().await;
    let reply = app
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["openapi"], "3.1.0");
    for (path, method) in [
        ("/v1/users", "get"),
        ("/v1/users", "post"),
        ("/v1/users/{id}", "get"),
        ("/v1/users/{id}", "patch"),
        ("/v1/users/{id}", "delete"),
    ] {
        assert!(
            reply.body["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let generated = serde_json::to_string_pretty(&reply.body).unwrap() + "\n";
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(committed_path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test -p roster-http openapi` and commit it"
    );
}

//! Sign-in, sessions, passwords and personal tokens through the real router, each case on
//! SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::Duration;
use common::{assert_error, App, Reply};
use serde_json::{json, Value};

on_both_stores!(
    a_session_introspects_slides_and_ends,
    failures_look_alike_whatever_the_reason,
    malformed_sign_ins_are_refused_and_audited,
    repeated_failures_are_slowed_down,
    sessions_limit_evicts_the_oldest_or_refuses,
    force_logout_and_deactivation_end_sessions,
    personal_tokens_are_allowed_created_and_revoked,
    passwords_are_set_checked_and_upgraded,
    sessions_expire_when_idle_and_at_their_lifetime,
    malformed_session_tokens_are_refused,
);

const PASSWORD: &str = "correct horse battery";

async fn user_with_password(app: &App, email: &str, extra: Value) -> Value {
    let mut body = json!({"name": "Ann Lee", "email": email, "role": "viewer",
                          "send_invitation": false, "password": PASSWORD});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    app.create(body).await
}

async fn sign_in(app: &App, email: &str, password: &str) -> Reply {
    app.call(
        Method::POST,
        "/v1/sessions",
        Some(json!({"email": email, "password": password, "ip": "203.0.113.7", "user_agent": "Browser/1"})),
    )
    .await
}

async fn token(app: &App, email: &str) -> String {
    let reply = sign_in(app, email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["token"].as_str().unwrap().to_owned()
}

async fn current(app: &App, token: &str) -> Reply {
    app.call_as(Some(token), Method::GET, "/v1/sessions/current", None)
        .await
}

/// The user's events, oldest first, as (action, changes).
async fn events(app: &App, user_id: &str) -> Vec<(String, Value)> {
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/audit-logs?user_id={user_id}&limit=100"),
            None,
        )
        .await;
    let mut events: Vec<(String, Value)> = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["changes"].clone(),
            )
        })
        .collect();
    events.reverse();
    events
}

async fn failures(app: &App) -> Vec<Value> {
    let reply = app
        .call(
            Method::GET,
            "/v1/audit-logs?action=user.login_failed&limit=100",
            None,
        )
        .await;
    reply.body["data"].as_array().unwrap().clone()
}

async fn a_session_introspects_slides_and_ends(app: App) {
    let ann = user_with_password(&app, "ann@example.com", json!({})).await;
    let id = ann["id"].as_str().unwrap();
    let reply = sign_in(&app, "ANN@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let first = reply.body["token"].as_str().unwrap().to_owned();
    assert!(first.starts_with("ses_"));
    assert_eq!(reply.body["kind"], "session");
    assert_eq!(
        reply.body["expires_at"], "2024-11-22T08:30:00Z",
        "7 days idle"
    );
    assert_eq!(reply.body["ip"], "203.0.113.7");
    assert_eq!(
        reply.body["user"]["current_sign_in_at"],
        "2024-11-15T08:30:00Z"
    );

    let me = current(&app, &first).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        (
            me.body["user"]["id"].as_str(),
            me.body["workspace"]["name"].as_str()
        ),
        (Some(id), Some("default"))
    );
    // Used a day later, it slides.
    app.clock.advance(Duration::days(1));
    let me = current(&app, &first).await;
    assert_eq!(me.body["session"]["expires_at"], "2024-11-23T08:30:00Z");
    assert_eq!(me.body["session"]["last_seen_at"], "2024-11-16T08:30:00Z");

    // A second sign-in moves the first to last_sign_in_at (seed 003).
    let second = token(&app, "ann@example.com").await;
    let user = app
        .call(Method::GET, &format!("/v1/users/{id}"), None)
        .await
        .body;
    assert_eq!(user["current_sign_in_at"], "2024-11-16T08:30:00Z");
    assert_eq!(user["last_sign_in_at"], "2024-11-15T08:30:00Z");
    let listed = app
        .call(Method::GET, &format!("/v1/users/{id}/sessions"), None)
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 2);

    let out = app
        .call_as(Some(&second), Method::DELETE, "/v1/sessions/current", None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_error(
        &current(&app, &second).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    assert_eq!(
        current(&app, &first).await.status,
        StatusCode::OK,
        "the other lives on"
    );
    let actions: Vec<String> = events(&app, id).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions,
        ["user.create", "user.login", "user.login", "user.logout"]
    );
}

async fn failures_look_alike_whatever_the_reason(app: App) {
    user_with_password(&app, "ann@example.com", json!({})).await;
    let bo = user_with_password(&app, "bo@example.com", json!({})).await;
    app.call(
        Method::POST,
        &format!("/v1/users/{}/deactivate", bo["id"].as_str().unwrap()),
        None,
    )
    .await;
    app.create(json!({"name": "Cy", "email": "cy@example.com", "role": "viewer"}))
        .await; // invited, no password
    let mut answers = Vec::new();
    for (email, password) in [
        ("ann@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
        ("bo@example.com", PASSWORD),
        ("cy@example.com", PASSWORD),
    ] {
        // The same work whatever the reason: exactly one argon2 verification each (against a
        // decoy hash with the same parameters when there is no password). The wall-clock
        // comparison is bench/signin's.
        let before = app.roster.password_verifications();
        let reply = sign_in(&app, email, password).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert_eq!(
            app.roster.password_verifications() - before,
            1,
            "{email}: one verification"
        );
        answers.push(reply.body["error"]["message"].clone());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let mut reasons: Vec<String> = failures(&app)
        .await
        .iter()
        .map(|e| e["changes"]["reason"].as_str().unwrap().to_owned())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["inactive", "no_password", "unknown_user", "wrong_password"]
    );
}

async fn malformed_sign_ins_are_refused_and_audited(app: App) {
    user_with_password(&app, "ann@example.com", json!({})).await;
    for (body, code) in [
        (
            json!({"email": "ann@example.com", "password": ""}),
            "field_required",
        ),
        (
            json!({"email": "ann@example.com", "password": "p".repeat(1_025)}),
            "password_too_long",
        ),
        (json!({"email": "ann@example.com"}), "field_required"),
    ] {
        let reply = app.call(Method::POST, "/v1/sessions", Some(body)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code);
    }
    assert_eq!(failures(&app).await.len(), 3, "each attempt is audited");
    let reply = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "field_required");
    // A password that is not UTF-8 is not JSON.
    let mut raw = br#"{"email": "ann@example.com", "password": ""#.to_vec();
    raw.extend_from_slice(&[0xff, 0xfe, b'"', b'}']);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/sessions")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .body(Body::from(raw))
        .unwrap();
    assert_error(
        &app.send(request).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    );
    let reply = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "ann@example.com", "password": PASSWORD, "extra": 1})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_body");
    let reader = app.key_with(&["users:read"]).await;
    let reply = app
        .call_as(
            Some(&reader),
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "ann@example.com", "password": PASSWORD})),
        )
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "missing_scope_users_write");
}

async fn repeated_failures_are_slowed_down(app: App) {
    user_with_password(&app, "ann@example.com", json!({})).await;
    for _ in 0..5 {
        assert_eq!(
            sign_in(&app, "ann@example.com", "wrong password!")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    // From the sixth attempt on, even the right password waits.
    let reply = sign_in(&app, "ann@example.com", PASSWORD).await;
    assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert_eq!(reply.headers[header::RETRY_AFTER], "1");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        sign_in(&app, "ann@example.com", PASSWORD).await.status,
        StatusCode::CREATED
    );
    let throttled = failures(&app)
        .await
        .iter()
        .filter(|e| e["changes"]["reason"] == "throttled")
        .count();
    assert_eq!(throttled, 1);

    // One address trying many names is slowed down too.
    for n in 0..6 {
        app.call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": format!("guess{n}@example.com"), "password": "x1234567", "ip": "198.51.100.9"})),
        )
        .await;
    }
    let reply = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "ann@example.com", "password": PASSWORD, "ip": "198.51.100.9"})),
        )
        .await;
    assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert_eq!(
        sign_in(&app, "ann@example.com", PASSWORD).await.status,
        StatusCode::CREATED,
        "another address is not held up"
    );
}

async fn sessions_limit_evicts_the_oldest_or_refuses(app: App) {
    for bad in [json!(-1), json!(0), json!(1_000_000), json!("two")] {
        let reply = app
            .call(Method::POST, "/v1/users", Some(json!({"name": "X", "email": "x@example.com", "role": "viewer", "sessions_limit": bad})))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    }
    let ann = user_with_password(&app, "ann@example.com", json!({"sessions_limit": 2})).await;
    assert_eq!(ann["sessions_limit"], 2);
    let id = ann["id"].as_str().unwrap();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(token(&app, "ann@example.com").await);
        app.clock.advance(Duration::seconds(1));
    }
    assert_error(
        &current(&app, &tokens[0]).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    assert_eq!(current(&app, &tokens[1]).await.status, StatusCode::OK);
    assert_eq!(current(&app, &tokens[2]).await.status, StatusCode::OK);
    let (action, changes) = events(&app, id).await.pop().unwrap();
    assert_eq!(action, "user.login");
    assert_eq!(
        changes["sessions_ended"]["before"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Lowering the limit evicts more at the next sign-in.
    app.call(
        Method::PATCH,
        &format!("/v1/users/{id}"),
        Some(json!({"sessions_limit": 1})),
    )
    .await;
    let only = token(&app, "ann@example.com").await;
    let listed = app
        .call(Method::GET, &format!("/v1/users/{id}/sessions"), None)
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(current(&app, &only).await.status, StatusCode::OK);

    // With the refuse policy, the new sign-in is refused instead.
    let reply = app
        .call(
            Method::PUT,
            "/v1/auth-settings",
            Some(json!({"session_limit_policy": "refuse"})),
        )
        .await;
    assert_eq!(reply.body["session_limit_policy"], "refuse");
    let reply = sign_in(&app, "ann@example.com", PASSWORD).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "session_limit_reached");
    assert_eq!(current(&app, &only).await.status, StatusCode::OK);
    // No limit: any number.
    app.call(
        Method::PATCH,
        &format!("/v1/users/{id}"),
        Some(json!({"sessions_limit": null})),
    )
    .await;
    assert_eq!(
        sign_in(&app, "ann@example.com", PASSWORD).await.status,
        StatusCode::CREATED
    );
}

async fn force_logout_and_deactivation_end_sessions(app: App) {
    let ann = user_with_password(&app, "ann@example.com", json!({})).await;
    let id = ann["id"].as_str().unwrap();
    let tokens = [
        token(&app, "ann@example.com").await,
        token(&app, "ann@example.com").await,
        token(&app, "ann@example.com").await,
    ];
    let reply = app
        .call(Method::POST, &format!("/v1/users/{id}/force-logout"), None)
        .await;
    assert_eq!(reply.body, json!({"ended": 3}));
    for t in &tokens {
        assert_error(
            &current(&app, t).await,
            StatusCode::UNAUTHORIZED,
            "session_ended",
        );
    }
    // One by id.
    let one = token(&app, "ann@example.com").await;
    let sid = current(&app, &one).await.body["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        &app.call(
            Method::DELETE,
            &format!("/v1/users/{id}/sessions/ses_unknown"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "session_not_found",
    );
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/v1/users/{id}/sessions/{sid}"),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &current(&app, &one).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );

    // Deactivation ends them too, and no sign-in works while inactive.
    let live = token(&app, "ann@example.com").await;
    app.call(Method::POST, &format!("/v1/users/{id}/deactivate"), None)
        .await;
    assert_error(
        &current(&app, &live).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    assert_error(
        &sign_in(&app, "ann@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    app.call(Method::POST, &format!("/v1/users/{id}/reactivate"), None)
        .await;
    assert_eq!(
        sign_in(&app, "ann@example.com", PASSWORD).await.status,
        StatusCode::CREATED
    );
    let actions: Vec<String> = events(&app, id).await.into_iter().map(|(a, _)| a).collect();
    assert!(
        actions.contains(&"user.force_logout".to_owned())
            && actions.contains(&"user.session_end".to_owned())
    );

    // Deletion ends them; purging erases them with the user.
    let live = token(&app, "ann@example.com").await;
    app.call(Method::DELETE, &format!("/v1/users/{id}"), None)
        .await;
    assert_error(
        &current(&app, &live).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    let reply = app
        .call(Method::DELETE, &format!("/v1/users/{id}?purge=true"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_error(
        &current(&app, &live).await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    );
}

async fn personal_tokens_are_allowed_created_and_revoked(app: App) {
    let ann = user_with_password(&app, "ann@example.com", json!({})).await;
    assert_eq!(
        (
            ann["allow_authentication_token"].as_bool(),
            ann["has_authentication_token"].as_bool()
        ),
        (Some(false), Some(false))
    );
    let id = ann["id"].as_str().unwrap();
    let session = token(&app, "ann@example.com").await;
    let create = |credential: String| {
        let app = &app;
        async move {
            app.call_as(
                Some(&credential),
                Method::POST,
                "/v1/sessions/current/token",
                None,
            )
            .await
        }
    };
    assert_error(
        &create(session.clone()).await,
        StatusCode::FORBIDDEN,
        "token_not_allowed",
    );
    app.call(
        Method::PATCH,
        &format!("/v1/users/{id}"),
        Some(json!({"allow_authentication_token": true})),
    )
    .await;
    let made = create(session.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let pat = made.body["token"].as_str().unwrap().to_owned();
    assert!(pat.starts_with("pat_"));
    assert_eq!(
        (made.body["kind"].as_str(), &made.body["expires_at"]),
        (Some("personal_token"), &Value::Null)
    );
    assert_eq!(made.body["user"]["has_authentication_token"], true);
    assert_error(
        &create(session.clone()).await,
        StatusCode::CONFLICT,
        "token_exists",
    );
    assert_error(
        &create(pat.clone()).await,
        StatusCode::FORBIDDEN,
        "session_required",
    );
    // It authenticates like a session that never expires.
    app.clock.advance(Duration::days(400));
    let me = current(&app, &pat).await;
    assert_eq!(
        (me.status, me.body["user"]["id"].as_str()),
        (StatusCode::OK, Some(id))
    );

    let revoked = app
        .call(Method::POST, &format!("/v1/users/{id}/token/revoke"), None)
        .await;
    assert_eq!(revoked.body["has_authentication_token"], false);
    assert_error(
        &current(&app, &pat).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    // Turning the switch off revokes a new one too.
    let session = token(&app, "ann@example.com").await;
    let pat = create(session).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let off = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Some(json!({"allow_authentication_token": false})),
        )
        .await;
    assert_eq!(off.body["has_authentication_token"], false);
    assert_error(
        &current(&app, &pat).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    let actions: Vec<String> = events(&app, id).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "user.token_create").count(),
        2
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "user.token_revoke").count(),
        1
    );
}

async fn passwords_are_set_checked_and_upgraded(app: App) {
    // Seed 004's example password is accepted by default.
    let bo = app
        .create(json!({"name": "Bo", "email": "bo@example.com", "role": "viewer", "send_invitation": false, "password": "Abcd1234"}))
        .await;
    assert_eq!(
        sign_in(&app, "bo@example.com", "Abcd1234").await.status,
        StatusCode::CREATED
    );
    let id = bo["id"].as_str().unwrap();
    // An admin sets a new one: old one out, sessions ended.
    let before = token_with(&app, "bo@example.com", "Abcd1234").await;
    let reply = app
        .call(
            Method::PUT,
            &format!("/v1/users/{id}/password"),
            Some(json!({"password": "a new long passphrase"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_error(
        &current(&app, &before).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    assert_error(
        &sign_in(&app, "bo@example.com", "Abcd1234").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    assert_eq!(
        sign_in(&app, "bo@example.com", "a new long passphrase")
            .await
            .status,
        StatusCode::CREATED
    );
    let (_, changes) = events(&app, id)
        .await
        .into_iter()
        .find(|(a, _)| a == "user.password_set")
        .unwrap();
    assert!(!changes.to_string().contains("argon2"));

    // The workspace's policy applies to new passwords.
    let reply = app
        .call(
            Method::PUT,
            "/v1/auth-settings",
            Some(json!({"min_password_length": 12, "check_common_passwords": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for (password, code) in [
        ("QWERTY123456", "password_too_common"),
        ("short pass", "password_too_short"),
        ("", "field_required"),
    ] {
        let reply = app
            .call(
                Method::PUT,
                &format!("/v1/users/{id}/password"),
                Some(json!({"password": password})),
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code);
    }
    let reply = app
        .call(Method::POST, "/v1/users", Some(json!({"name": "C", "email": "c@example.com", "role": "viewer", "password": "Abcd1234"})))
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "password_too_short");
    // Accepting an invitation follows the policy too.
    app.create(json!({"name": "Dee", "email": "dee@example.com", "role": "viewer"}))
        .await;
    let outbox = app.call(Method::GET, "/v1/outbox", None).await;
    let text = outbox.body["data"][0]["text"].as_str().unwrap().to_owned();
    let start = text.find("inv_").unwrap();
    let invitation: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    for (password, code) in [
        ("short pass", "password_too_short"),
        ("qwerty123456", "password_too_common"),
    ] {
        let reply = app
            .call_as(
                None,
                Method::POST,
                "/v1/invitations/accept",
                Some(json!({"token": invitation, "password": password})),
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code);
    }
    assert_error(
        &app.call(
            Method::PUT,
            "/v1/auth-settings",
            Some(json!({"min_password_length": 4})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_auth_settings",
    );

    // An imported bcrypt hash signs in and is replaced by argon2id on the way.
    let bcrypt = bcrypt::hash("imported secret", 4).unwrap();
    let line = json!({"email": "imp@example.com", "name": "Imp", "role": "viewer", "password_hash": bcrypt}).to_string();
    let reply = app
        .call_raw(Method::POST, "/v1/users/import", Some(line))
        .await;
    assert_eq!(reply.body["data"]["created"], 1, "{}", reply.body);
    assert_eq!(
        sign_in(&app, "imp@example.com", "imported secret")
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        sign_in(&app, "imp@example.com", "imported secret")
            .await
            .status,
        StatusCode::CREATED
    );
    let imp = app
        .call(Method::GET, "/v1/users/lookup?email=imp@example.com", None)
        .await
        .body;
    let logins: Vec<Value> = events(&app, imp["id"].as_str().unwrap())
        .await
        .into_iter()
        .filter(|(a, _)| a == "user.login")
        .map(|(_, c)| c)
        .collect();
    assert_eq!(logins[0]["password"]["after"], "rehashed");
    assert!(logins[1].get("password").is_none(), "rehashed once only");
}

async fn token_with(app: &App, email: &str, password: &str) -> String {
    let reply = sign_in(app, email, password).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["token"].as_str().unwrap().to_owned()
}

async fn sessions_expire_when_idle_and_at_their_lifetime(app: App) {
    user_with_password(&app, "ann@example.com", json!({})).await;
    let idle = token(&app, "ann@example.com").await;
    let busy = token(&app, "ann@example.com").await;
    for _ in 0..29 {
        app.clock.advance(Duration::days(1));
        assert_eq!(current(&app, &busy).await.status, StatusCode::OK);
    }
    assert_error(
        &current(&app, &idle).await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    );
    app.clock.advance(Duration::days(1));
    assert_error(
        &current(&app, &busy).await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    );
    // Expired sessions do not count against a limit.
    let listed = app
        .call(Method::GET, "/v1/users/lookup?email=ann@example.com", None)
        .await;
    let id = listed.body["id"].as_str().unwrap();
    let sessions = app
        .call(Method::GET, &format!("/v1/users/{id}/sessions"), None)
        .await;
    assert_eq!(sessions.body["data"], json!([]));
}

async fn malformed_session_tokens_are_refused(app: App) {
    let no_header = app
        .call_as(None, Method::GET, "/v1/sessions/current", None)
        .await;
    assert_error(&no_header, StatusCode::UNAUTHORIZED, "invalid_session");
    let key = app.key.clone();
    for bad in [
        "garbage",
        "ses_",
        "ses_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        key.as_str(),
    ] {
        assert_error(
            &current(&app, bad).await,
            StatusCode::UNAUTHORIZED,
            "invalid_session",
        );
    }
    // A session token is not a secret key.
    user_with_password(&app, "ann@example.com", json!({})).await;
    let session = token(&app, "ann@example.com").await;
    let reply = app
        .call_as(Some(&session), Method::GET, "/v1/users", None)
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_api_key");
}

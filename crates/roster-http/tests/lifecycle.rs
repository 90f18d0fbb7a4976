//! The user lifecycle through the real router, each case on SQLite and on PostgreSQL:
//! invitations and their mail, deactivate/reactivate, soft delete/restore/purge, roles,
//! groups and the email lookups. Each transition has its allowed and refused case, and the
//! audit events it leaves (a refused one leaves none).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::http::{Method, StatusCode};
use chrono::Duration;
use common::{assert_error, App};
use serde_json::{json, Value};

on_both_stores!(
    invitation_mail_carries_a_token_that_activates_the_user,
    racing_acceptances_activate_once,
    resending_replaces_the_token,
    stale_unknown_and_malformed_tokens_are_refused,
    deactivate_and_reactivate,
    soft_delete_and_restore,
    purging_erases_for_good,
    roles_are_the_workspace_own,
    role_change_may_leave_every_group,
    groups_and_expiring_memberships,
    email_lookups,
    invitation_settings_shape_the_mail,
);

/// The workspace's events about `user_id`, oldest first, as `action` strings.
async fn actions(app: &App, user_id: &str) -> Vec<String> {
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/audit-logs?user_id={user_id}&limit=100"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut actions: Vec<String> = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    actions.reverse();
    actions
}

async fn last_event(app: &App, user_id: &str) -> Value {
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/audit-logs?user_id={user_id}&limit=1"),
            None,
        )
        .await;
    reply.body["data"][0].clone()
}

async fn invite(app: &App, email: &str) -> Value {
    app.create(
        json!({"name": "Ann Lee", "email": email, "role": "viewer", "message": "Welcome aboard!"}),
    )
    .await
}

async fn active(app: &App, email: &str) -> Value {
    app.create(
        json!({"name": "Bo Active", "email": email, "role": "editor", "send_invitation": false}),
    )
    .await
}

/// The outbox's mails to `email`, newest first.
async fn mails_to(app: &App, email: &str) -> Vec<Value> {
    let reply = app.call(Method::GET, "/v1/outbox?limit=100", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == email)
        .cloned()
        .collect()
}

/// The token in a mail's text.
fn token_in(mail: &Value) -> String {
    let text = mail["text"].as_str().unwrap();
    let start = text.find("inv_").expect("a token in the mail");
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

async fn accept(app: &App, body: Value) -> common::Reply {
    app.call_as(None, Method::POST, "/v1/invitations/accept", Some(body))
        .await
}

async fn invitation_mail_carries_a_token_that_activates_the_user(app: App) {
    let ann = invite(&app, "ann@example.com").await;
    let id = ann["id"].as_str().unwrap();
    assert_eq!(ann["status"], "invited");
    let mails = mails_to(&app, "ann@example.com").await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(
        (mail["kind"].as_str(), mail["status"].as_str()),
        (Some("invitation"), Some("pending"))
    );
    assert_eq!(mail["subject"], "You are invited to default");
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("Hello Ann Lee") && text.contains("Welcome aboard!"),
        "{text}"
    );
    let token = token_in(mail);

    let reply = accept(
        &app,
        json!({"token": token, "password": "correct horse", "name": "Ann B. Lee"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        (reply.body["status"].as_str(), reply.body["name"].as_str()),
        (Some("active"), Some("Ann B. Lee"))
    );
    let event = last_event(&app, id).await;
    assert_eq!(event["action"], "user.activate");
    assert_eq!(event["actor"], json!({"kind": "user", "id": id}));
    assert_eq!(
        event["changes"]["status"],
        json!({"before": "invited", "after": "active"})
    );
    assert_eq!(
        event["changes"]["password"],
        json!({"before": null, "after": "set"})
    );
    assert!(!event.to_string().contains("argon2"), "no hash in the log");
    assert!(event["request_id"]
        .as_str()
        .is_some_and(|r| r.starts_with("req_")));

    // Used once only; nothing more is written.
    let again = accept(&app, json!({"token": token})).await;
    assert_error(&again, StatusCode::GONE, "invitation_used");
    assert_eq!(actions(&app, id).await, ["user.create", "user.activate"]);
}

async fn racing_acceptances_activate_once(app: App) {
    let ann = invite(&app, "ann@example.com").await;
    let token = token_in(&mails_to(&app, "ann@example.com").await[0]);
    let body = json!({"token": token, "password": "correct horse"});
    let (a, b) = tokio::join!(accept(&app, body.clone()), accept(&app, body));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::GONE],
        "{} {}",
        a.body,
        b.body
    );
    let id = ann["id"].as_str().unwrap();
    assert_eq!(actions(&app, id).await, ["user.create", "user.activate"]);
}

async fn resending_replaces_the_token(app: App) {
    let ann = invite(&app, "ann@example.com").await;
    let id = ann["id"].as_str().unwrap();
    let first = token_in(&mails_to(&app, "ann@example.com").await[0]);
    let reply = app
        .call(
            Method::POST,
            &format!("/v1/users/{id}/invitation"),
            Some(json!({"message": "Second try"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let mails = mails_to(&app, "ann@example.com").await;
    assert_eq!(mails.len(), 2);
    assert!(mails[0]["text"].as_str().unwrap().contains("Second try"));
    let second = token_in(&mails[0]);
    assert_ne!(first, second);
    // A body is optional.
    let reply = app
        .call(Method::POST, &format!("/v1/users/{id}/invitation"), None)
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let mails = mails_to(&app, "ann@example.com").await;
    let third = token_in(&mails[0]);
    // Mail with a dead token is withdrawn, not sent.
    let statuses: Vec<&str> = mails
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending", "withdrawn", "withdrawn"]);
    assert_eq!(mails[1]["text"], Value::Null);

    for dead in [&first, &second] {
        let reply = accept(&app, json!({"token": dead})).await;
        assert_error(&reply, StatusCode::GONE, "invitation_revoked");
    }
    assert_eq!(
        accept(&app, json!({"token": third})).await.status,
        StatusCode::OK
    );

    // An active user is not sent invitations; nothing is written.
    let reply = app
        .call(Method::POST, &format!("/v1/users/{id}/invitation"), None)
        .await;
    assert_error(&reply, StatusCode::CONFLICT, "user_not_invited");
    assert_eq!(
        actions(&app, id).await,
        ["user.create", "user.invite", "user.invite", "user.activate"]
    );
    assert_eq!(mails_to(&app, "ann@example.com").await.len(), 3);
}

async fn stale_unknown_and_malformed_tokens_are_refused(app: App) {
    let ann = invite(&app, "ann@example.com").await;
    let id = ann["id"].as_str().unwrap();
    let token = token_in(&mails_to(&app, "ann@example.com").await[0]);

    assert_error(
        &accept(&app, json!({})).await,
        StatusCode::BAD_REQUEST,
        "field_required",
    );
    for unknown in ["inv_doesnotexist", "not-a-token", "inv_ünïcode"] {
        let reply = accept(&app, json!({"token": unknown})).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "invitation_not_found");
    }
    let bad_body = app
        .call_raw(
            Method::POST,
            "/v1/invitations/accept",
            Some("{\"token\": 5}".into()),
        )
        .await;
    assert_error(&bad_body, StatusCode::BAD_REQUEST, "invalid_body");
    // Bad passwords and names change nothing.
    for (body, code) in [
        (
            json!({"token": token, "password": "short"}),
            "password_too_short",
        ),
        (
            json!({"token": token, "password": "p".repeat(1_025)}),
            "password_too_long",
        ),
        (json!({"token": token, "password": ""}), "field_required"),
        (json!({"token": token, "name": "  "}), "field_required"),
    ] {
        assert_error(&accept(&app, body).await, StatusCode::BAD_REQUEST, code);
    }
    // An admin activating the user directly kills the invitation too.
    let bo = invite(&app, "bo@example.com").await;
    let bo_token = token_in(&mails_to(&app, "bo@example.com").await[0]);
    let bo_id = bo["id"].as_str().unwrap();
    let reply = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{bo_id}"),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(reply.body["status"], "active");
    assert_error(
        &accept(&app, json!({"token": bo_token})).await,
        StatusCode::GONE,
        "invitation_revoked",
    );
    assert_eq!(actions(&app, bo_id).await, ["user.create", "user.activate"]);
    // Seven days later the token has expired.
    app.clock.advance(Duration::days(7) + Duration::seconds(1));
    let reply = accept(&app, json!({"token": token})).await;
    assert_error(&reply, StatusCode::GONE, "invitation_expired");
    let user = app
        .call(Method::GET, &format!("/v1/users/{id}"), None)
        .await;
    assert_eq!(user.body["status"], "invited");
    assert_eq!(actions(&app, id).await, ["user.create"]);
}

async fn deactivate_and_reactivate(app: App) {
    let bo = active(&app, "bo@example.com").await;
    let id = bo["id"].as_str().unwrap();
    let deactivate = format!("/v1/users/{id}/deactivate");
    let reactivate = format!("/v1/users/{id}/reactivate");

    let reply = app.call(Method::POST, &deactivate, None).await;
    assert_eq!(
        (reply.status, reply.body["status"].as_str()),
        (StatusCode::OK, Some("inactive"))
    );
    let event = last_event(&app, id).await;
    assert_eq!(
        event["changes"]["status"],
        json!({"before": "active", "after": "inactive"})
    );
    // Again: nothing changes, nothing is written.
    let reply = app.call(Method::POST, &deactivate, None).await;
    assert_eq!(
        (reply.status, reply.body["status"].as_str()),
        (StatusCode::OK, Some("inactive"))
    );
    let reply = app.call(Method::POST, &reactivate, None).await;
    assert_eq!(
        (reply.status, reply.body["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    let reply = app.call(Method::POST, &reactivate, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        actions(&app, id).await,
        ["user.create", "user.deactivate", "user.reactivate"]
    );

    // An invited user cannot be reactivated; deactivating it kills its invitation.
    let ann = invite(&app, "ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let token = token_in(&mails_to(&app, "ann@example.com").await[0]);
    let reply = app
        .call(
            Method::POST,
            &format!("/v1/users/{ann_id}/reactivate"),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_status_transition");
    let reply = app
        .call(
            Method::POST,
            &format!("/v1/users/{ann_id}/deactivate"),
            None,
        )
        .await;
    assert_eq!(reply.body["status"], "inactive");
    assert_eq!(
        mails_to(&app, "ann@example.com").await[0]["status"],
        "withdrawn"
    );
    assert_error(
        &accept(&app, json!({"token": token})).await,
        StatusCode::GONE,
        "invitation_revoked",
    );
    assert_eq!(
        actions(&app, ann_id).await,
        ["user.create", "user.deactivate"]
    );

    // A deleted user can be neither; unknown ids are 404 too.
    assert_eq!(
        app.call(Method::DELETE, &format!("/v1/users/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    for uri in [
        &deactivate,
        &reactivate,
        &"/v1/users/usr_unknown/deactivate".to_owned(),
    ] {
        let reply = app.call(Method::POST, uri, None).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "user_not_found");
    }
    assert_eq!(actions(&app, id).await.len(), 4);
}

async fn soft_delete_and_restore(app: App) {
    let bo = app
        .create(json!({"name": "Bo", "email": "bo@example.com", "role": "viewer", "send_invitation": false, "external_id": "ext-bo"}))
        .await;
    let id = bo["id"].as_str().unwrap();
    let restore = format!("/v1/users/{id}/restore");
    let reply = app.call(Method::POST, &restore, None).await;
    assert_error(&reply, StatusCode::CONFLICT, "user_not_deleted");
    assert_eq!(reply.body["error"]["message"], "User is not deleted");

    assert_eq!(
        app.call(Method::DELETE, &format!("/v1/users/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &app.call(Method::GET, &format!("/v1/users/{id}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    let admin_read = app
        .call(
            Method::GET,
            &format!("/v1/users/{id}?include_deleted=true"),
            None,
        )
        .await;
    assert_eq!(admin_read.status, StatusCode::OK);
    assert_eq!(admin_read.body["deleted_at"], "2024-11-15T08:30:00Z");
    let listed = app.call(Method::GET, "/v1/users", None).await;
    assert_eq!(listed.body["data"], json!([]));
    let listed = app
        .call(Method::GET, "/v1/users?include_deleted=true", None)
        .await;
    assert_eq!(listed.body["data"][0]["id"], id);
    // The external id is retired while the user is deleted (seed 000).
    let reply = app
        .call(Method::POST, "/v1/users", Some(json!({"name": "X", "email": "x@example.com", "role": "viewer", "external_id": "ext-bo"})))
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "external_id_retired");
    // Deleting twice is a 404.
    assert_error(
        &app.call(Method::DELETE, &format!("/v1/users/{id}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );

    // Restored as it was.
    let reply = app.call(Method::POST, &restore, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        (
            reply.body["email"].as_str(),
            reply.body["external_id"].as_str()
        ),
        (Some("bo@example.com"), Some("ext-bo"))
    );
    assert!(reply.body.get("deleted_at").is_none());
    assert_eq!(
        app.call(Method::GET, &format!("/v1/users/{id}"), None)
            .await
            .status,
        StatusCode::OK
    );

    // Deleted again, its email taken meanwhile: restoring is refused, nothing written.
    app.call(Method::DELETE, &format!("/v1/users/{id}"), None)
        .await;
    active(&app, "BO@example.com").await;
    let reply = app.call(Method::POST, &restore, None).await;
    assert_error(&reply, StatusCode::CONFLICT, "email_taken");
    assert_eq!(
        actions(&app, id).await,
        ["user.create", "user.delete", "user.restore", "user.delete"]
    );
}

async fn purging_erases_for_good(app: App) {
    let ann = app
        .create(json!({"name": "Ann Erased", "email": "ann@example.com", "role": "viewer", "external_id": "ext-ann"}))
        .await;
    let id = ann["id"].as_str().unwrap();
    let group = app
        .call(Method::POST, "/v1/groups", Some(json!({"name": "Team"})))
        .await
        .body;
    let gid = group["id"].as_str().unwrap();
    app.call(Method::PUT, &format!("/v1/groups/{gid}/members/{id}"), None)
        .await;
    app.call(Method::DELETE, &format!("/v1/users/{id}"), None)
        .await;

    let reply = app
        .call(Method::DELETE, &format!("/v1/users/{id}?purge=true"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    for (method, uri) in [
        (Method::GET, format!("/v1/users/{id}")),
        (Method::POST, format!("/v1/users/{id}/deactivate")),
        (Method::GET, format!("/v1/users/{id}?include_deleted=true")),
        (Method::DELETE, format!("/v1/users/{id}?purge=true")),
        (Method::POST, format!("/v1/users/{id}/restore")),
    ] {
        assert_error(
            &app.call(method, &uri, None).await,
            StatusCode::GONE,
            "user_purged",
        );
    }
    let patch = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Some(json!({"name": "Back"})),
        )
        .await;
    assert_error(&patch, StatusCode::GONE, "user_purged");
    assert!(
        mails_to(&app, "ann@example.com").await.is_empty(),
        "its mail is gone"
    );
    let members = app
        .call(Method::GET, &format!("/v1/groups/{gid}/members"), None)
        .await;
    assert_eq!(members.body["data"], json!([]));
    // The tombstone names the id and nothing personal.
    let event = last_event(&app, id).await;
    assert_eq!(event["action"], "user.purge");
    assert!(
        !event.to_string().contains("ann@example.com") && !event.to_string().contains("Erased")
    );
    // The external id is free again.
    let reply = app
        .call(Method::POST, "/v1/users", Some(json!({"name": "New", "email": "new@example.com", "role": "viewer", "external_id": "ext-ann"})))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    // A live user can be purged directly.
    let bo = active(&app, "bo@example.com").await;
    let reply = app
        .call(
            Method::DELETE,
            &format!("/v1/users/{}?purge=true", bo["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_error(
        &app.call(Method::DELETE, "/v1/users/usr_unknown?purge=true", None)
            .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
}

async fn roles_are_the_workspace_own(app: App) {
    let reply = app.call(Method::GET, "/v1/roles", None).await;
    assert_eq!(reply.body, json!({"roles": ["admin", "editor", "viewer"]}));
    let reply = app
        .call(
            Method::PUT,
            "/v1/roles",
            Some(json!({"roles": ["admin", "analyst", "explorer", "viewer", "editor"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let analyst = app
        .create(json!({"name": "An", "email": "an@example.com", "role": "analyst", "send_invitation": false}))
        .await;
    assert_eq!(analyst["role"], "analyst");

    // A role in use cannot be removed, even by a deleted user.
    app.call(
        Method::DELETE,
        &format!("/v1/users/{}", analyst["id"].as_str().unwrap()),
        None,
    )
    .await;
    let reply = app
        .call(
            Method::PUT,
            "/v1/roles",
            Some(json!({"roles": ["admin", "viewer", "editor"]})),
        )
        .await;
    assert_error(&reply, StatusCode::CONFLICT, "role_in_use");
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("analyst"));
    for bad in [
        json!({"roles": []}),
        json!({"roles": ["admin", "admin"]}),
        json!({"roles": ["two words"]}),
    ] {
        let reply = app.call(Method::PUT, "/v1/roles", Some(bad)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_role");
    }
    // Removing an unused role works; creating with it is then refused.
    let reply = app
        .call(
            Method::PUT,
            "/v1/roles",
            Some(json!({"roles": ["admin", "analyst", "viewer", "editor"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = app
        .call(
            Method::POST,
            "/v1/users",
            Some(json!({"name": "E", "email": "e@example.com", "role": "explorer"})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unknown_role");
    let events = app
        .call(Method::GET, "/v1/audit-logs?action=config.update", None)
        .await;
    assert_eq!(
        events.body["data"].as_array().unwrap().len(),
        2,
        "one per accepted change"
    );
    assert_eq!(
        events.body["data"][0]["changes"]["roles"]["after"],
        json!(["admin", "analyst", "viewer", "editor"])
    );
    // Only admins change roles.
    let writer = app.key_with(&["users:write"]).await;
    let reply = app
        .call_as(
            Some(&writer),
            Method::PUT,
            "/v1/roles",
            Some(json!({"roles": ["admin"]})),
        )
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "missing_scope_admin");
}

async fn role_change_may_leave_every_group(app: App) {
    let bo = active(&app, "bo@example.com").await;
    let id = bo["id"].as_str().unwrap();
    let mut groups = Vec::new();
    for name in ["Alpha", "Beta"] {
        let g = app
            .call(Method::POST, "/v1/groups", Some(json!({"name": name})))
            .await
            .body;
        let gid = g["id"].as_str().unwrap().to_owned();
        app.call(Method::PUT, &format!("/v1/groups/{gid}/members/{id}"), None)
            .await;
        groups.push(gid);
    }
    // Without remove_groups the memberships stay.
    let reply = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let mine = app
        .call(Method::GET, &format!("/v1/users/{id}/groups"), None)
        .await;
    assert_eq!(mine.body["data"].as_array().unwrap().len(), 2);
    // With it, every group is left, in the same write.
    let reply = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Some(json!({"role": "admin", "remove_groups": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let mine = app
        .call(Method::GET, &format!("/v1/users/{id}/groups"), None)
        .await;
    assert_eq!(mine.body["data"], json!([]));
    let event = last_event(&app, id).await;
    assert_eq!(event["action"], "user.role_change");
    let mut before: Vec<String> =
        serde_json::from_value(event["changes"]["groups"]["before"].clone()).unwrap();
    before.sort();
    groups.sort();
    assert_eq!(before, groups);
    assert_eq!(event["changes"]["groups"]["after"], json!([]));
}

async fn groups_and_expiring_memberships(app: App) {
    let ann = active(&app, "ann@example.com").await;
    let bo = active(&app, "bo@example.com").await;
    let (ann_id, bo_id) = (ann["id"].as_str().unwrap(), bo["id"].as_str().unwrap());
    let reply = app
        .call(
            Method::POST,
            "/v1/groups",
            Some(json!({"name": "Pro plan", "description": "Paying"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let gid = reply.body["id"].as_str().unwrap().to_owned();
    assert!(gid.starts_with("grp_"));
    let reply = app
        .call(
            Method::POST,
            "/v1/groups",
            Some(json!({"name": "PRO PLAN"})),
        )
        .await;
    assert_error(&reply, StatusCode::CONFLICT, "group_name_taken");
    assert_error(
        &app.call(Method::POST, "/v1/groups", Some(json!({}))).await,
        StatusCode::BAD_REQUEST,
        "field_required",
    );

    let member = |user: &str| format!("/v1/groups/{gid}/members/{user}");
    let past = json!({"expires_at": "2024-11-15T08:29:59Z"});
    assert_error(
        &app.call(Method::PUT, &member(ann_id), Some(past)).await,
        StatusCode::BAD_REQUEST,
        "invalid_expiry",
    );
    let reply = app.call(Method::PUT, &member(ann_id), None).await;
    assert_eq!(
        (reply.status, &reply.body["expires_at"]),
        (StatusCode::OK, &Value::Null)
    );
    let reply = app
        .call(
            Method::PUT,
            &member(bo_id),
            Some(json!({"expires_at": "2024-12-15T08:30:00Z"})),
        )
        .await;
    assert_eq!(reply.body["expires_at"], "2024-12-15T08:30:00Z");
    assert_error(
        &app.call(Method::PUT, &member("usr_unknown"), None).await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    assert_error(
        &app.call(
            Method::PUT,
            &format!("/v1/groups/grp_unknown/members/{ann_id}"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "group_not_found",
    );

    let members = app
        .call(Method::GET, &format!("/v1/groups/{gid}/members"), None)
        .await;
    let ids: Vec<&str> = members.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [bo_id, ann_id]);
    let filtered = app
        .call(Method::GET, &format!("/v1/users?group={gid}"), None)
        .await;
    assert_eq!(filtered.body["data"].as_array().unwrap().len(), 2);
    let paged = app
        .call(Method::GET, &format!("/v1/users?group={gid}&limit=1"), None)
        .await;
    let cursor = paged.body["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = app
        .call(
            Method::GET,
            &format!("/v1/users?group={gid}&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(next.body["data"][0]["id"], ann_id);
    assert_error(
        &app.call(Method::GET, "/v1/users?group=grp_unknown", None)
            .await,
        StatusCode::BAD_REQUEST,
        "unknown_group",
    );

    // A month later Bo's membership has expired and no longer counts anywhere.
    app.clock.advance(Duration::days(31));
    let filtered = app
        .call(Method::GET, &format!("/v1/users?group={gid}"), None)
        .await;
    let ids: Vec<&str> = filtered.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ann_id]);
    let bo_groups = app
        .call(Method::GET, &format!("/v1/users/{bo_id}/groups"), None)
        .await;
    assert_eq!(bo_groups.body["data"], json!([]));
    let ann_groups = app
        .call(Method::GET, &format!("/v1/users/{ann_id}/groups"), None)
        .await;
    assert_eq!(ann_groups.body["data"][0]["group"]["name"], "Pro plan");

    let reply = app
        .call(
            Method::PATCH,
            &format!("/v1/groups/{gid}"),
            Some(json!({"name": "Team plan", "description": null})),
        )
        .await;
    assert_eq!(
        (reply.body["name"].as_str(), &reply.body["description"]),
        (Some("Team plan"), &Value::Null)
    );
    assert_eq!(
        app.call(Method::DELETE, &member(ann_id), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &app.call(Method::DELETE, &member(ann_id), None).await,
        StatusCode::NOT_FOUND,
        "not_a_member",
    );
    let listed = app.call(Method::GET, "/v1/groups", None).await;
    assert_eq!(listed.body["data"][0]["id"], gid.as_str());
    assert_eq!(
        app.call(Method::DELETE, &format!("/v1/groups/{gid}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &app.call(Method::GET, &format!("/v1/groups/{gid}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "group_not_found",
    );

    let events = app
        .call(Method::GET, "/v1/audit-logs?limit=100", None)
        .await;
    let mut group_actions: Vec<&str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("group."))
        .collect();
    group_actions.reverse();
    assert_eq!(
        group_actions,
        [
            "group.create",
            "group.member_add",
            "group.member_add",
            "group.update",
            "group.member_remove",
            "group.delete"
        ]
    );
    // Reading needs users:read; changing needs users:write.
    let reader = app.key_with(&["users:read"]).await;
    assert_eq!(
        app.call_as(Some(&reader), Method::GET, "/v1/groups", None)
            .await
            .status,
        StatusCode::OK
    );
    let reply = app
        .call_as(
            Some(&reader),
            Method::POST,
            "/v1/groups",
            Some(json!({"name": "X"})),
        )
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "missing_scope_users_write");
}

async fn email_lookups(app: App) {
    let bo = active(&app, "Bo@Example.com").await;
    let reply = app
        .call(Method::GET, "/v1/users/lookup?email=bo@example.COM", None)
        .await;
    assert_eq!(
        (reply.status, &reply.body["id"]),
        (StatusCode::OK, &bo["id"])
    );
    assert_error(
        &app.call(Method::GET, "/v1/users/lookup?email=no@example.com", None)
            .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    assert_error(
        &app.call(Method::GET, "/v1/users/lookup", None).await,
        StatusCode::BAD_REQUEST,
        "field_required",
    );
    let taken = app
        .call(
            Method::GET,
            "/v1/users/email-taken?email=BO@example.com",
            None,
        )
        .await;
    assert_eq!(
        taken.body,
        json!({"email": "BO@example.com", "taken": true})
    );
    app.call(
        Method::DELETE,
        &format!("/v1/users/{}", bo["id"].as_str().unwrap()),
        None,
    )
    .await;
    let taken = app
        .call(
            Method::GET,
            "/v1/users/email-taken?email=bo@example.com",
            None,
        )
        .await;
    assert_eq!(taken.body["taken"], false, "a deleted user's email is free");
}

async fn invitation_settings_shape_the_mail(app: App) {
    let reply = app.call(Method::GET, "/v1/invitation-settings", None).await;
    assert_eq!(reply.body["expiry_hours"], 168);
    let reply = app
        .call(
            Method::PUT,
            "/v1/invitation-settings",
            Some(json!({"expiry_hours": 24, "subject": "Join {{workspace}}, {{name}}", "text": "Code: {{token}}{{message}}"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["custom"]["expiry_hours"], 24);
    invite(&app, "ann@example.com").await;
    let mail = &mails_to(&app, "ann@example.com").await[0];
    assert_eq!(mail["subject"], "Join default, Ann Lee");
    assert!(mail["text"].as_str().unwrap().starts_with("Code: inv_"));
    let token = token_in(mail);
    app.clock.advance(Duration::hours(25));
    assert_error(
        &accept(&app, json!({"token": token})).await,
        StatusCode::GONE,
        "invitation_expired",
    );

    for bad in [
        json!({"text": "no token"}),
        json!({"subject": "Hi {{nobody}}"}),
        json!({"expiry_hours": 0}),
    ] {
        let reply = app
            .call(Method::PUT, "/v1/invitation-settings", Some(bad))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    }
    // The outbox holds live tokens: admins only.
    let writer = app.key_with(&["users:write"]).await;
    let reply = app
        .call_as(Some(&writer), Method::GET, "/v1/outbox", None)
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "missing_scope_admin");
}

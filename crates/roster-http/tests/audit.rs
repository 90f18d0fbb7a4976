//! The audit log through the real router: every mutating route leaves exactly one event
//! with the right actor, target and diff; a failed change leaves none; the log's query API;
//! retention that keeps the chain verifiable.
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
use common::{app, assert_error, App};
use serde_json::{json, Value};

/// All events of the default workspace, oldest first.
async fn chain(app: &App) -> Vec<roster_core::AuditEvent> {
    let ws = app.roster.find_workspace("default").await.unwrap();
    app.store.audit_chain(ws.key, 0, 10_000).await.unwrap()
}

fn changes(event: &roster_core::AuditEvent) -> Value {
    serde_json::from_str(&event.changes).unwrap()
}

/// Run `call`, then check it left exactly one new event, with `action`, and return it.
async fn one_event<F: std::future::Future<Output = common::Reply>>(
    app: &App,
    action: &str,
    call: F,
) -> (common::Reply, roster_core::AuditEvent) {
    let before = chain(app).await.len();
    let reply = call.await;
    let events = chain(app).await;
    assert_eq!(events.len(), before + 1, "{action}: {}", reply.body);
    let event = events.last().unwrap().clone();
    assert_eq!(event.action, action, "{}", reply.body);
    (reply, event)
}

/// Run `call`, then check it left no new event.
async fn no_event<F: std::future::Future<Output = common::Reply>>(
    app: &App,
    call: F,
) -> common::Reply {
    let before = chain(app).await.len();
    let reply = call.await;
    assert_eq!(chain(app).await.len(), before, "{}", reply.body);
    reply
}

#[tokio::test]
async fn user_routes_leave_one_event_each() {
    let app = app().await;
    let admin = app.key_with(&["admin"]).await;
    let keys = app
        .call_as(Some(&admin), Method::GET, "/v1/api-keys", None)
        .await
        .body;
    let admin_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| admin.starts_with(k["prefix"].as_str().unwrap()) && admin.len() > 12)
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .unwrap();
    let body = json!({"name": "Jane", "email": "jane@example.com", "role": "viewer", "send_invitation": false});
    let (created, event) = one_event(
        &app,
        "user.create",
        app.call_as(Some(&admin), Method::POST, "/v1/users", Some(body.clone())),
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(event.actor_kind, "api_key");
    assert_eq!(event.actor_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(event.target_user_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        event.request_id.as_deref(),
        created.headers["x-request-id"].to_str().ok()
    );
    assert_eq!(
        changes(&event)["email"],
        json!({"before": null, "after": "jane@example.com"})
    );
    assert_eq!(
        changes(&event)["status"],
        json!({"before": null, "after": "active"})
    );

    let uri = format!("/v1/users/{id}");
    let (_, event) = one_event(
        &app,
        "user.update",
        app.call_as(
            Some(&admin),
            Method::PATCH,
            &uri,
            Some(json!({"name": "Jane C", "attributes": {"plan": "pro"}})),
        ),
    )
    .await;
    assert_eq!(
        changes(&event),
        json!({
            "name": {"before": "Jane", "after": "Jane C"},
            "attributes": {"before": {}, "after": {"plan": "pro"}},
        })
    );
    let (_, event) = one_event(
        &app,
        "user.role_change",
        app.call_as(
            Some(&admin),
            Method::PATCH,
            &uri,
            Some(json!({"role": "editor"})),
        ),
    )
    .await;
    assert_eq!(
        changes(&event),
        json!({"role": {"before": "viewer", "after": "editor"}})
    );
    let (_, event) = one_event(
        &app,
        "user.deactivate",
        app.call_as(
            Some(&admin),
            Method::PATCH,
            &uri,
            Some(json!({"status": "inactive"})),
        ),
    )
    .await;
    assert_eq!(
        changes(&event),
        json!({"status": {"before": "active", "after": "inactive"}})
    );
    one_event(
        &app,
        "user.reactivate",
        app.call_as(
            Some(&admin),
            Method::PATCH,
            &uri,
            Some(json!({"status": "active"})),
        ),
    )
    .await;
    let (_, event) = one_event(
        &app,
        "user.delete",
        app.call_as(Some(&admin), Method::DELETE, &uri, None),
    )
    .await;
    assert!(changes(&event)["deleted_at"]["after"].is_string());

    // Failed changes leave nothing: invalid input, conflicts, unknown users, no-op patches,
    // and requests refused before they reach the core.
    let reader = app.key_with(&["users:read"]).await;
    app.call_as(
        Some(&admin),
        Method::POST,
        "/v1/users",
        Some(json!({"name": "Bob", "email": "bob@example.com", "role": "viewer"})),
    )
    .await;
    let bob = chain(&app)
        .await
        .last()
        .unwrap()
        .target_user_id
        .clone()
        .unwrap();
    let bob_uri = format!("/v1/users/{bob}");
    for (method, uri, body) in [
        (
            Method::POST,
            "/v1/users".to_owned(),
            Some(json!({"name": "X", "email": "nope", "role": "viewer"})),
        ),
        (
            Method::POST,
            "/v1/users".to_owned(),
            Some(json!({"name": "X", "email": "bob@example.com", "role": "viewer"})),
        ),
        (
            Method::PATCH,
            bob_uri.clone(),
            Some(json!({"role": "owner"})),
        ),
        (Method::PATCH, bob_uri.clone(), Some(json!({"name": "Bob"}))),
        (Method::PATCH, uri.clone(), Some(json!({"name": "ghost"}))),
        (Method::DELETE, uri.clone(), None),
    ] {
        let reply = no_event(&app, app.call_as(Some(&admin), method.clone(), &uri, body)).await;
        assert!(
            reply.status.is_client_error() || reply.status == StatusCode::OK,
            "{method} {uri}: {}",
            reply.status
        );
    }
    let refused = no_event(
        &app,
        app.call_as(Some(&reader), Method::DELETE, &bob_uri, None),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn credential_and_workspace_routes_leave_one_event_each() {
    let app = app().await;
    let (created, event) = one_event(
        &app,
        "api_key.create",
        app.call_as(
            Some(&app.key),
            Method::POST,
            "/v1/api-keys",
            Some(json!({"name": "ci", "scopes": ["users:read"]})),
        ),
    )
    .await;
    let secret = created.body["secret"].as_str().unwrap();
    assert!(!event.changes.contains(secret), "no secret in events");
    assert_eq!(changes(&event)["scopes"]["after"], json!(["users:read"]));
    let key_uri = format!("/v1/api-keys/{}", created.body["id"].as_str().unwrap());
    one_event(
        &app,
        "api_key.revoke",
        app.call_as(Some(&app.key), Method::DELETE, &key_uri, None),
    )
    .await;
    no_event(
        &app,
        app.call_as(Some(&app.key), Method::DELETE, &key_uri, None),
    )
    .await;
    no_event(
        &app,
        app.call_as(
            Some(&app.key),
            Method::POST,
            "/v1/api-keys",
            Some(json!({"scopes": ["bogus"]})),
        ),
    )
    .await;

    let (client, event) = one_event(
        &app,
        "api_client.create",
        app.call_as(
            Some(&app.key),
            Method::POST,
            "/v1/api-clients",
            Some(json!({"name": "portal"})),
        ),
    )
    .await;
    assert!(!event
        .changes
        .contains(client.body["client_secret"].as_str().unwrap()));
    let client_uri = format!(
        "/v1/api-clients/{}",
        client.body["client_id"].as_str().unwrap()
    );
    let (_, event) = one_event(
        &app,
        "api_client.update",
        app.call_as(
            Some(&app.key),
            Method::PATCH,
            &client_uri,
            Some(json!({"admin_api_enabled": true})),
        ),
    )
    .await;
    assert_eq!(
        changes(&event),
        json!({"admin_api_enabled": {"before": false, "after": true}})
    );
    one_event(
        &app,
        "api_client.revoke",
        app.call_as(Some(&app.key), Method::DELETE, &client_uri, None),
    )
    .await;
    no_event(
        &app,
        app.call_as(
            Some(&app.key),
            Method::PATCH,
            &client_uri,
            Some(json!({"name": "x"})),
        ),
    )
    .await;

    let ws = app.roster.find_workspace("default").await.unwrap();
    let ws_uri = format!("/v1/workspaces/{}", ws.id);
    let (_, event) = one_event(
        &app,
        "config.update",
        app.call_as(
            Some(&app.key),
            Method::PATCH,
            &ws_uri,
            Some(json!({"audit_retention_days": 30})),
        ),
    )
    .await;
    assert_eq!(
        changes(&event),
        json!({"audit_retention_days": {"before": 90, "after": 30}})
    );
    one_event(
        &app,
        "config.update",
        app.call_as(
            Some(&app.key),
            Method::PATCH,
            &ws_uri,
            Some(json!({"rate_limit_per_minute": 500})),
        ),
    )
    .await;
    no_event(
        &app,
        app.call_as(
            Some(&app.key),
            Method::PATCH,
            &ws_uri,
            Some(json!({"audit_retention_days": 0})),
        ),
    )
    .await;
    // A new workspace's creation opens its own chain.
    let reply = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/workspaces",
            Some(json!({"name": "acme"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let acme = app.roster.find_workspace("acme").await.unwrap();
    let acme_chain = app.store.audit_chain(acme.key, 0, 10).await.unwrap();
    assert_eq!(acme_chain.len(), 1);
    assert_eq!(acme_chain[0].action, "workspace.create");
    assert_eq!(acme_chain[0].actor_kind, "api_key");
    // And every chain verifies.
    for ws in app.roster.list_workspaces().await.unwrap() {
        let report = app.roster.verify_audit_chain(&ws).await.unwrap();
        assert_eq!(report.broken, None, "{}", ws.name);
    }
}

#[tokio::test]
async fn audit_log_api_filters_and_pages() {
    let app = app().await;
    let auditor = app.key_with(&["audit:read"]).await;
    for n in 0..3 {
        app.call_as(Some(&app.key), Method::POST, "/v1/users", Some(json!({"name": format!("U{n}"), "email": format!("u{n}@example.com"), "role": "viewer"}))).await;
        app.clock.advance(Duration::hours(1));
    }
    let jane = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/users",
            Some(json!({"name": "Jane", "email": "jane@example.com", "role": "viewer"})),
        )
        .await
        .body;
    let jane_id = jane["id"].as_str().unwrap();
    app.call_as(
        Some(&app.key),
        Method::DELETE,
        &format!("/v1/users/{jane_id}"),
        None,
    )
    .await;

    let all = app
        .call_as(Some(&auditor), Method::GET, "/v1/audit-logs", None)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let data = all.body["data"].as_array().unwrap();
    assert_eq!(data[0]["action"], "user.delete", "newest first");
    assert_eq!(data[0]["user_id"], jane_id);
    assert_eq!(data[0]["actor"]["kind"], "api_key");
    assert!(data[0]["hash"].as_str().unwrap().len() == 64);

    let get = |q: String| {
        let app = &app;
        let auditor = auditor.clone();
        async move {
            app.call_as(
                Some(&auditor),
                Method::GET,
                &format!("/v1/audit-logs?{q}"),
                None,
            )
            .await
        }
    };
    let deletes = get("action=user.delete".into()).await;
    assert_eq!(deletes.body["data"].as_array().unwrap().len(), 1);
    let about_jane = get(format!("user_id={jane_id}")).await;
    assert_eq!(about_jane.body["data"].as_array().unwrap().len(), 2);
    let window = get("start_time=2024-11-15T09:00:00Z&end_time=2024-11-15T10:00:00Z".into()).await;
    let names: Vec<&str> = window.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["changes"]["name"]["after"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["U1"]);
    let by_date = get("start_time=2024-11-16".into()).await;
    assert_eq!(by_date.body["data"], json!([]));

    // Pages of two walk all events once.
    let total = data.len();
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = get(query.clone()).await;
        seen.extend(
            page.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page.body["meta"]["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    seen.dedup();
    assert_eq!(seen.len(), total);

    for (q, code) in [
        ("start_time=yesterday", "invalid_time"),
        ("end_time=2024-02-30", "invalid_time"),
        ("start_time=2024-11-16&end_time=2024-11-15", "invalid_time"),
        ("action=user.explode", "unknown_action"),
        ("limit=0", "invalid_limit"),
        ("limit=1000", "invalid_limit"),
        ("cursor=AAAA", "invalid_cursor"),
    ] {
        assert_error(&get(q.into()).await, StatusCode::BAD_REQUEST, code);
    }
    let first = get("limit=1".into()).await;
    let cursor = first.body["meta"]["next_cursor"].as_str().unwrap();
    assert_error(
        &get(format!("limit=1&action=user.create&cursor={cursor}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    );
    let no_scope = app.key_with(&["users:write"]).await;
    let denied = app
        .call_as(Some(&no_scope), Method::GET, "/v1/audit-logs", None)
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "missing_scope_audit_read");
}

#[tokio::test]
async fn events_record_the_request() {
    let app = app().await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/users")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .header(header::USER_AGENT, "roster-test/1.0")
        .header("x-request-id", "trace-42")
        .body(Body::from(
            json!({"name": "A", "email": "a@b.co", "role": "admin"}).to_string(),
        ))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::CREATED);
    let event = chain(&app).await.last().unwrap().clone();
    assert_eq!(event.request_id.as_deref(), Some("trace-42"));
    assert_eq!(event.user_agent.as_deref(), Some("roster-test/1.0"));
}

#[tokio::test]
async fn retention_purges_old_events_and_the_rest_still_verifies() {
    let app = app().await;
    let ws = app.roster.find_workspace("default").await.unwrap();
    for n in 0..5 {
        app.call_as(Some(&app.key), Method::POST, "/v1/users", Some(json!({"name": format!("U{n}"), "email": format!("u{n}@example.com"), "role": "viewer"}))).await;
        app.clock.advance(Duration::days(1));
    }
    let ws_uri = format!("/v1/workspaces/{}", ws.id);
    app.call_as(
        Some(&app.key),
        Method::PATCH,
        &ws_uri,
        Some(json!({"audit_retention_days": 2})),
    )
    .await;
    let ws = app.roster.find_workspace("default").await.unwrap();
    let before = chain(&app).await.len();
    let purged = app.roster.purge_expired_audit_events(&ws).await.unwrap();
    // Older than two days: bootstrap's two events and the first three users.
    assert_eq!(purged, 5);
    assert_eq!(chain(&app).await.len(), before - 5);
    let report = app.roster.verify_audit_chain(&ws).await.unwrap();
    assert_eq!((report.broken, report.checked), (None, (before - 5) as u64));
    assert_eq!(app.roster.purge_expired_audit_events(&ws).await.unwrap(), 0);
}

#[tokio::test]
async fn export_streams_every_event_as_ndjson_or_csv() {
    let app = app().await;
    for n in 0..130 {
        let body = json!({"name": format!("U{n}"), "email": format!("u{n}@example.com"), "role": "viewer"});
        app.call_as(Some(&app.key), Method::POST, "/v1/users", Some(body))
            .await;
    }
    let total = chain(&app).await.len();
    let raw = |uri: &str| {
        let request = Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
            .body(Body::empty())
            .unwrap();
        let router = app.router.clone();
        async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let content_type = response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                content_type,
                String::from_utf8(bytes.to_vec()).unwrap(),
            )
        }
    };
    let (status, content_type, ndjson) = raw("/v1/audit-logs/export").await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/x-ndjson")
    );
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), total, "pages of 100 stitched together");
    let mut ids: Vec<&str> = lines.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total);

    let (status, content_type, csv) =
        raw("/v1/audit-logs/export?format=csv&action=user.create").await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("id,occurred_at,action,"));
    assert_eq!(rows.len(), 1 + 130);
    assert!(rows[1].contains(",user.create,"));

    let bad = app
        .call_as(
            Some(&app.key),
            Method::GET,
            "/v1/audit-logs/export?format=xml",
            None,
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_parameter");
    let bad = app
        .call_as(
            Some(&app.key),
            Method::GET,
            "/v1/audit-logs/export?start_time=soon",
            None,
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_time");
    let writer = app.key_with(&["users:write"]).await;
    let denied = app
        .call_as(Some(&writer), Method::GET, "/v1/audit-logs/export", None)
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "missing_scope_audit_read");
}

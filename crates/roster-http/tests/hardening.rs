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

// ---- 7-9, 11: every answer in the surface's own envelope, NUL refused at the door --------

/// How each surface's errors look, and the credential header it takes.
#[derive(Debug, Clone, Copy)]
enum Envelope {
    Native,
    HumanApi,
    Holistics,
    Publica,
}

impl Envelope {
    #[track_caller]
    fn check(self, reply: &common::Reply, status: StatusCode) {
        assert_eq!(reply.status, status, "{:?}: {}", self, reply.body);
        let body = &reply.body;
        match self {
            Envelope::Native => {
                assert!(body["error"]["code"].is_string(), "{body}");
                assert_eq!(body["error"]["status"], status.as_u16(), "{body}");
            }
            Envelope::HumanApi => {
                assert_eq!(body["statusCode"], status.as_u16(), "{body}");
                assert!(
                    body["message"].is_string() && body["code"].is_string(),
                    "{body}"
                );
            }
            Envelope::Holistics => {
                assert!(body["errors"][0].is_string(), "{body}");
            }
            Envelope::Publica => {
                assert!(
                    body["CODE"].is_string() && body["message"].is_string(),
                    "{body}"
                );
            }
        }
        let text = body.to_string();
        for leak in ["struct ", "expected enum", "u32", "i64", "Option<"] {
            assert!(!text.contains(leak), "a Rust type leaks: {text}");
        }
    }
}

async fn raw(
    app: &App,
    method: Method,
    uri: &str,
    headers: &[(&str, String)],
    body: Body,
) -> common::Reply {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    app.send(request.body(body).unwrap()).await
}

fn credentials(app: &App, envelope: Envelope) -> Vec<(&'static str, String)> {
    match envelope {
        Envelope::Native | Envelope::HumanApi => {
            vec![("authorization", format!("Bearer {}", app.key))]
        }
        Envelope::Holistics => vec![("x-holistics-key", app.key.clone())],
        Envelope::Publica => vec![("x-user-token", app.key.clone())],
    }
}

#[tokio::test]
async fn nul_bytes_are_refused_everywhere_they_enter() {
    let app = app().await;
    let ws = app.roster.find_workspace("default").await.unwrap().id;
    let cases: Vec<(Envelope, Method, String)> = vec![
        (Envelope::Native, Method::GET, "/v1/users?search=%00".into()),
        (
            Envelope::Native,
            Method::GET,
            "/v1/users?email=a%00@example.com".into(),
        ),
        (
            Envelope::Native,
            Method::GET,
            "/v1/users/lookup?email=%00".into(),
        ),
        (Envelope::Native, Method::GET, "/v1/users/usr_%00".into()),
        (
            Envelope::Native,
            Method::GET,
            "/v1/audit-logs?user_id=%00".into(),
        ),
        (
            Envelope::Native,
            Method::GET,
            "/v1/audit-logs?actor=%00".into(),
        ),
        (
            Envelope::Native,
            Method::DELETE,
            "/v1/users/usr_1/sessions/ses_%00".into(),
        ),
        (Envelope::HumanApi, Method::GET, "/api/v1/users/%00".into()),
        (
            Envelope::HumanApi,
            Method::GET,
            format!("/v1/apps/{ws}/users/%00"),
        ),
        (
            Envelope::Holistics,
            Method::GET,
            "/users/check_holistics_user.json?email=%00".into(),
        ),
        (
            Envelope::Publica,
            Method::GET,
            "/integration-api/v1/dashboard/users?email=%00".into(),
        ),
        (
            Envelope::Publica,
            Method::POST,
            "/integration-api/v1/users/%00/force-logout".into(),
        ),
    ];
    for (envelope, method, uri) in cases {
        let reply = raw(
            &app,
            method,
            &uri,
            &credentials(&app, envelope),
            Body::empty(),
        )
        .await;
        envelope.check(&reply, StatusCode::BAD_REQUEST);
    }
    // In a JSON body, as the escape \u0000.
    let reply = app
        .call_raw(
            Method::POST,
            "/v1/users",
            Some(r#"{"name": "A\u0000", "email": "a@example.com", "role": "viewer"}"#.into()),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_body");
}

#[tokio::test]
async fn bodies_must_be_objects_and_messages_name_no_types() {
    let app = app().await;
    let ws = app.roster.find_workspace("default").await.unwrap().id;
    for (method, uri) in [
        (Method::PATCH, format!("/v1/workspaces/{ws}")),
        (Method::POST, "/v1/groups".to_owned()),
        (Method::PUT, "/v1/roles".to_owned()),
        (Method::POST, "/v1/users".to_owned()),
    ] {
        let reply = app.call_raw(method, &uri, Some("[5000, 30]".into())).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_body");
        Envelope::Native.check(&reply, StatusCode::BAD_REQUEST);
    }
    let workspace = app.call(Method::GET, "/v1/workspaces", None).await;
    assert_ne!(workspace.body["data"][0]["rate_limit_per_minute"], 5000);
    let reply = app
        .call_raw(
            Method::POST,
            "/v1/users",
            Some(r#"{"name": {"a": 1}}"#.into()),
        )
        .await;
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains(".:") && !message.contains("line "),
        "{message}"
    );
}

#[tokio::test]
async fn framework_answers_come_in_the_surface_envelope() {
    let app = app().await;
    let ws = app.roster.find_workspace("default").await.unwrap().id;
    let big = "x".repeat(300 * 1024);
    let big_body = format!(r#"{{"email": "a@example.com", "name": "{big}"}}"#);
    let surfaces = [
        (
            Envelope::Native,
            "/v1/users".to_owned(),
            "/v1/nowhere".to_owned(),
        ),
        (
            Envelope::HumanApi,
            "/api/v1/users".to_owned(),
            "/api/v1/nowhere".to_owned(),
        ),
        (
            Envelope::HumanApi,
            format!("/v1/apps/{ws}/users"),
            format!("/v1/apps/{ws}/nowhere"),
        ),
        (
            Envelope::Holistics,
            "/users/invite.json".to_owned(),
            "/users/1/nowhere.json".to_owned(),
        ),
        (
            Envelope::Publica,
            "/integration-api/v1/dashboard/users".to_owned(),
            "/integration-api/v1/nowhere".to_owned(),
        ),
    ];
    for (envelope, route, unrouted) in &surfaces {
        let creds = credentials(&app, *envelope);
        // An unrouted path under the surface's prefix.
        let reply = raw(&app, Method::GET, unrouted, &creds, Body::empty()).await;
        envelope.check(&reply, StatusCode::NOT_FOUND);
        // A body over the limit, announced and not.
        let mut json = creds.clone();
        json.push(("content-type", "application/json".into()));
        let mut with_length = json.clone();
        with_length.push(("content-length", big_body.len().to_string()));
        let reply = raw(
            &app,
            Method::POST,
            route,
            &with_length,
            Body::from(big_body.clone()),
        )
        .await;
        envelope.check(&reply, StatusCode::PAYLOAD_TOO_LARGE);
        if !matches!(envelope, Envelope::HumanApi) {
            // Streamed without a length: the handler's read stops at the limit. (The Human
            // API dialects take no bodies.)
            let stream =
                futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big_body.clone())]);
            let reply = raw(&app, Method::POST, route, &json, Body::from_stream(stream)).await;
            envelope.check(&reply, StatusCode::PAYLOAD_TOO_LARGE);
        }
        // A path id that is not UTF-8 once decoded.
        for bad in ["%FF", "%C0%AF"] {
            let uri = format!("{}/{bad}", route.trim_end_matches(".json"));
            let reply = raw(&app, Method::GET, &uri, &creds, Body::empty()).await;
            envelope.check(&reply, StatusCode::BAD_REQUEST);
        }
        // A huge query string.
        let uri = format!("{route}?q={}", "a".repeat(20_000));
        let reply = raw(&app, Method::GET, &uri, &creds, Body::empty()).await;
        envelope.check(&reply, StatusCode::URI_TOO_LONG);
        // Expect: 100-continue with a huge length is refused before the body is read.
        let mut expecting = json.clone();
        expecting.push(("expect", "100-continue".into()));
        expecting.push(("content-length", "104857600".into()));
        let reply = raw(&app, Method::POST, route, &expecting, Body::empty()).await;
        envelope.check(&reply, StatusCode::PAYLOAD_TOO_LARGE);
    }
    // Publica.la's paginator: malformed numbers are its validation errors; the last of a
    // repeated parameter wins.
    let creds = credentials(&app, Envelope::Publica);
    for query in ["page=abc", "per_page=1e400", "page=-1"] {
        let uri = format!("/integration-api/v1/dashboard/users?{query}");
        let reply = raw(&app, Method::GET, &uri, &creds, Body::empty()).await;
        Envelope::Publica.check(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let uri = "/integration-api/v1/dashboard/users?page=7&page=1";
    let reply = raw(&app, Method::GET, uri, &creds, Body::empty()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["data"]["paginator"]["current_page"], 1,
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn every_surface_sends_rate_limit_headers() {
    let app = app().await;
    let ws = app.roster.find_workspace("default").await.unwrap().id;
    for (envelope, uri) in [
        (Envelope::Native, "/v1/users".to_owned()),
        (Envelope::HumanApi, "/api/v1/users".to_owned()),
        (Envelope::HumanApi, format!("/v1/apps/{ws}/users")),
        (Envelope::Holistics, "/users.json".to_owned()),
        (
            Envelope::Publica,
            "/integration-api/v1/dashboard/users".to_owned(),
        ),
    ] {
        let reply = raw(
            &app,
            Method::GET,
            &uri,
            &credentials(&app, envelope),
            Body::empty(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            assert!(reply.headers.contains_key(name), "{uri} lacks {name}");
        }
    }
}

// ---- 10: CSV exports start no formula ---------------------------------------------------

#[tokio::test]
async fn csv_exports_escape_formulas_and_import_back_unchanged() {
    let app = app().await;
    app.create(
        json!({"name": "=HYPERLINK(\"http://evil\",\"x\")", "email": "f@example.com",
                      "role": "viewer", "external_id": "+15550100"}),
    )
    .await;
    let request = Request::builder()
        .uri("/v1/users/export?format=csv")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.contains(r#""'=HYPERLINK(""http://evil"",""x"")""#),
        "{row}"
    );
    assert!(row.contains("'+15550100"), "{row}");
    // The export imports back as it was: the quotes come off again.
    let other = common::app().await;
    let import = Request::builder()
        .method(Method::POST)
        .uri("/v1/users/import")
        .header(header::AUTHORIZATION, format!("Bearer {}", other.key))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(text))
        .unwrap();
    let reply = other.send(import).await;
    assert_eq!(reply.body["data"]["created"], 1, "{}", reply.body);
    let found = other
        .call(Method::GET, "/v1/users?email=f@example.com", None)
        .await;
    assert_eq!(
        found.body["data"][0]["name"],
        "=HYPERLINK(\"http://evil\",\"x\")"
    );
    assert_eq!(found.body["data"][0]["external_id"], "+15550100");
}

// ---- 6: a list never fails because one of its users went away --------------------------

async fn lists_survive_concurrent_deletes(app: App) {
    let group = app
        .call(Method::POST, "/v1/groups", Some(json!({"name": "Readers"})))
        .await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for n in 0..40 {
        let user = app.create_named(n, "viewer").await;
        let id = user["id"].as_str().unwrap().to_owned();
        let put = app
            .call(
                Method::PUT,
                &format!("/v1/groups/{group_id}/members/{id}"),
                None,
            )
            .await;
        assert!(put.status.is_success(), "{}", put.body);
        ids.push(id);
    }
    let app = std::sync::Arc::new(app);
    let deleter = {
        let app = app.clone();
        tokio::spawn(async move {
            for id in ids {
                let uri = format!("/v1/users/{id}?purge=true");
                let reply = app.call(Method::DELETE, &uri, None).await;
                assert!(reply.status.is_success(), "{}", reply.body);
                tokio::task::yield_now().await;
            }
        })
    };
    // Lists interleave with the deletes (bounded, to stay within the key's rate limit).
    let mut lists = 0;
    while lists < 150 && (!deleter.is_finished() || lists < 4) {
        for uri in [
            "/integration-api/v1/dashboard/users?per_page=100",
            "/users.json",
        ] {
            let header = if uri.starts_with("/users") {
                "x-holistics-key"
            } else {
                "x-user-token"
            };
            let reply = raw(
                &app,
                Method::GET,
                uri,
                &[(header, app.key.clone())],
                Body::empty(),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
        }
        lists += 1;
    }
    deleter.await.unwrap();
}

on_both_stores!(lists_survive_concurrent_deletes);

// ---- 17: the OpenAPI document says what the handlers check -------------------------------

#[tokio::test]
async fn the_openapi_document_states_ranges_enums_required_fields_and_statuses() {
    let app = app().await;
    let doc = app
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .body;
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    let limit = param("/v1/users", "limit");
    assert_eq!(
        (
            limit["schema"]["minimum"].clone(),
            limit["schema"]["maximum"].clone()
        ),
        (json!(1), json!(100))
    );
    assert!(param("/v1/users/export", "format")["schema"]["enum"] == json!(["ndjson", "csv"]));
    let actions = param("/v1/audit-logs", "action")["schema"]["enum"].clone();
    assert!(actions
        .as_array()
        .unwrap()
        .contains(&json!("user.login_failed")));
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["CreateUser"]["required"],
        json!(["name", "email", "role"])
    );
    assert_eq!(
        schemas["CreateUser"]["properties"]["name"]["type"],
        "string"
    );
    assert_eq!(
        schemas["AuthSettingsBody"]["properties"]["session_limit_policy"]["enum"],
        json!(["evict_oldest", "refuse", null])
    );
    assert_eq!(
        schemas["UpdateWorkspace"]["properties"]["audit_retention_days"]["maximum"],
        3650
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for status in ["400", "429", "503"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{method} {path} does not list {status}"
                );
            }
        }
    }
    assert_eq!(
        doc["paths"]["/v1/sessions/current"]["get"]["security"],
        json!([{"session": []}])
    );
    assert!(doc["components"]["securitySchemes"]["session"].is_object());
    assert!(doc["paths"]["/v1/users"]["post"]["responses"]["201"]["links"]["GetUser"].is_object());
}

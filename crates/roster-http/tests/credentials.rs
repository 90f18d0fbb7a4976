//! Scoped keys, key management, rate limits, API clients and client tokens, and the
//! workspace API, through the real router.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use common::{app, assert_error, App};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const USER: fn() -> Value =
    || json!({"name": "Jane", "email": "jane@example.com", "role": "viewer"});

// ---- scopes -----------------------------------------------------------------------------

#[tokio::test]
async fn scopes_guard_every_route() {
    let app = app().await;
    let read = app.key_with(&["users:read"]).await;
    let write = app.key_with(&["users:write"]).await;
    let creds = app.key_with(&["credentials:manage"]).await;
    let audit = app.key_with(&["audit:read"]).await;

    assert_eq!(
        app.call_as(Some(&read), Method::GET, "/v1/users", None)
            .await
            .status,
        StatusCode::OK
    );
    let denied = app
        .call_as(Some(&read), Method::POST, "/v1/users", Some(USER()))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "missing_scope_users_write");
    // users:write includes reading.
    let created = app
        .call_as(Some(&write), Method::POST, "/v1/users", Some(USER()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let uri = format!("/v1/users/{}", created.body["id"].as_str().unwrap());
    assert_eq!(
        app.call_as(Some(&write), Method::GET, &uri, None)
            .await
            .status,
        StatusCode::OK
    );
    for (method, body) in [
        (Method::PATCH, Some(json!({"name": "x"}))),
        (Method::DELETE, None),
    ] {
        let reply = app.call_as(Some(&read), method, &uri, body).await;
        assert_error(&reply, StatusCode::FORBIDDEN, "missing_scope_users_write");
    }
    for key in [&creds, &audit] {
        let reply = app.call_as(Some(key), Method::GET, &uri, None).await;
        assert_error(&reply, StatusCode::FORBIDDEN, "missing_scope_users_read");
    }
    for path in ["/v1/api-keys", "/v1/api-clients"] {
        assert_eq!(
            app.call_as(Some(&creds), Method::GET, path, None)
                .await
                .status,
            StatusCode::OK
        );
        let reply = app.call_as(Some(&write), Method::GET, path, None).await;
        assert_error(
            &reply,
            StatusCode::FORBIDDEN,
            "missing_scope_credentials_manage",
        );
    }
    let reply = app
        .call_as(Some(&creds), Method::GET, "/v1/workspaces", None)
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "missing_scope_admin");
}

// ---- key management ---------------------------------------------------------------------

#[tokio::test]
async fn keys_are_created_listed_used_and_revoked() {
    let app = app().await;
    let manager = app.key_with(&["credentials:manage", "users:write"]).await;
    let created = app
        .call_as(
            Some(&manager),
            Method::POST,
            "/v1/api-keys",
            Some(json!({
                "name": "ci", "scopes": ["users:read"], "rate_limit_per_minute": 120,
                "expires_at": "2025-01-01T00:00:00Z"
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(created.body["prefix"].as_str().unwrap()));
    assert_eq!(created.body["scopes"], json!(["users:read"]));
    assert_eq!(created.body["rate_limit_per_minute"], 120);
    assert_eq!(created.body["expires_at"], "2025-01-01T00:00:00Z");
    assert_eq!(created.body["last_used_at"], Value::Null);

    assert_eq!(
        app.call_as(Some(&secret), Method::GET, "/v1/users", None)
            .await
            .status,
        StatusCode::OK
    );
    let list = app
        .call_as(Some(&manager), Method::GET, "/v1/api-keys", None)
        .await;
    let listed = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(listed.get("secret").is_none(), "lists never show secrets");
    assert_eq!(listed["last_used_at"], "2024-11-15T08:30:00Z");

    let revoked = app
        .call_as(
            Some(&manager),
            Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    // At once on this node, despite the cache.
    let after = app
        .call_as(Some(&secret), Method::GET, "/v1/users", None)
        .await;
    assert_error(&after, StatusCode::UNAUTHORIZED, "invalid_api_key");
    let again = app
        .call_as(
            Some(&manager),
            Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            None,
        )
        .await;
    assert_error(&again, StatusCode::NOT_FOUND, "api_key_not_found");
    let malformed = app
        .call_as(
            Some(&manager),
            Method::DELETE,
            "/v1/api-keys/nonsense",
            None,
        )
        .await;
    assert_error(&malformed, StatusCode::NOT_FOUND, "api_key_not_found");
}

#[tokio::test]
async fn key_requests_are_validated_and_never_escalate() {
    let app = app().await;
    let manager = app.key_with(&["credentials:manage", "users:read"]).await;
    let cases = [
        (
            json!({"name": "x"}),
            StatusCode::BAD_REQUEST,
            "field_required",
        ),
        (
            json!({"scopes": []}),
            StatusCode::BAD_REQUEST,
            "unknown_scope",
        ),
        (
            json!({"scopes": ["users:delete"]}),
            StatusCode::BAD_REQUEST,
            "unknown_scope",
        ),
        (
            json!({"scopes": "users:read"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"scopes": ["users:read"], "expires_at": "2024-01-01T00:00:00Z"}),
            StatusCode::BAD_REQUEST,
            "invalid_expiry",
        ),
        (
            json!({"scopes": ["users:read"], "expires_at": "next week"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"scopes": ["users:read"], "rate_limit_per_minute": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_rate_limit",
        ),
        (
            json!({"scopes": ["users:read"], "rate_limit_per_minute": -5}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"scopes": ["users:read"], "name": "x".repeat(101)}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            json!({"scopes": ["users:read"], "secret": "sk_live_mine"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"scopes": ["admin"]}),
            StatusCode::FORBIDDEN,
            "scope_not_delegable",
        ),
        (
            json!({"scopes": ["users:write"]}),
            StatusCode::FORBIDDEN,
            "scope_not_delegable",
        ),
    ];
    for (body, status, code) in cases {
        let reply = app
            .call_as(
                Some(&manager),
                Method::POST,
                "/v1/api-keys",
                Some(body.clone()),
            )
            .await;
        assert_error(&reply, status, code);
    }
    let ok = app
        .call_as(
            Some(&manager),
            Method::POST,
            "/v1/api-keys",
            Some(json!({"scopes": ["users:read", "credentials:manage"]})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
}

#[tokio::test]
async fn expired_keys_stop_working() {
    let app = app().await;
    let admin = app.key.clone();
    let created = app
        .call_as(
            Some(&admin),
            Method::POST,
            "/v1/api-keys",
            Some(json!({
                "scopes": ["users:read"], "expires_at": "2024-11-15T09:30:00Z"
            })),
        )
        .await;
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call_as(Some(&secret), Method::GET, "/v1/users", None)
            .await
            .status,
        StatusCode::OK
    );
    app.clock.advance(Duration::hours(1));
    let reply = app
        .call_as(Some(&secret), Method::GET, "/v1/users", None)
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_api_key");
}

#[tokio::test]
async fn malformed_authorization_headers_get_401() {
    let app = app().await;
    let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let values: Vec<HeaderValue> = vec![
        HeaderValue::from_static(""),
        HeaderValue::from_static("Bearer"),
        HeaderValue::from_static("Bearer "),
        HeaderValue::from_static("Digest abc"),
        HeaderValue::from_static("Basic %%%not-base64"),
        HeaderValue::from_str(&format!("Basic {}", encode("no-colon"))).unwrap(),
        HeaderValue::from_bytes(b"Bearer sk_live_\xff\xfe").unwrap(),
        HeaderValue::from_static("Bearer sk_live_unknown"),
        HeaderValue::from_static("Bearer a.b.c"),
    ];
    for value in values {
        let request = Request::get("/v1/users")
            .header(header::AUTHORIZATION, value.clone())
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{value:?}");
        assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE));
        let code = reply.body["error"]["code"].as_str().unwrap();
        assert!(
            code == "invalid_api_key" || code == "invalid_token",
            "{value:?}: {code}"
        );
    }
}

// ---- rate limits ------------------------------------------------------------------------

#[tokio::test]
async fn rate_limits_are_per_credential_with_headers() {
    let app = app().await;
    let created = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/api-keys",
            Some(json!({"scopes": ["users:read"], "rate_limit_per_minute": 3})),
        )
        .await;
    let limited = created.body["secret"].as_str().unwrap().to_owned();
    for remaining in ["2", "1", "0"] {
        let reply = app
            .call_as(Some(&limited), Method::GET, "/v1/users", None)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers["x-ratelimit-limit"], "3");
        assert_eq!(reply.headers["x-ratelimit-remaining"], remaining);
        let reset: i64 = reply.headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = app.roster.now().timestamp();
        assert!(reset > now && reset <= now + 61, "{reset} vs {now}");
    }
    let refused = app
        .call_as(Some(&limited), Method::GET, "/v1/users", None)
        .await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(refused.headers["x-ratelimit-remaining"], "0");
    // Errors after authentication count too, and other credentials are unaffected.
    let other = app
        .call_as(Some(&app.key), Method::GET, "/v1/users", None)
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.headers["x-ratelimit-limit"], "1000");
}

#[tokio::test]
async fn workspace_rate_limit_applies_to_keys_without_their_own() {
    let app = app().await;
    let ws = app.roster.find_workspace("default").await.unwrap();
    let reply = app
        .call_as(
            Some(&app.key),
            Method::PATCH,
            &format!("/v1/workspaces/{}", ws.id),
            Some(json!({"rate_limit_per_minute": 2})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["rate_limit_per_minute"], 2);
    let key = app.key_with(&["users:read"]).await;
    for _ in 0..2 {
        let reply = app
            .call_as(Some(&key), Method::GET, "/v1/users", None)
            .await;
        assert_eq!(
            (
                reply.status,
                reply.headers["x-ratelimit-limit"].to_str().unwrap()
            ),
            (StatusCode::OK, "2")
        );
    }
    let refused = app
        .call_as(Some(&key), Method::GET, "/v1/users", None)
        .await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

// ---- API clients and client tokens ------------------------------------------------------

/// Make a client through the API; returns (client_id, client_secret).
async fn client(app: &App, body: Value) -> (String, String) {
    let reply = app
        .call_as(Some(&app.key), Method::POST, "/v1/api-clients", Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    (
        reply.body["client_id"].as_str().unwrap().to_owned(),
        reply.body["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn token_request(app: &App, body: Value) -> common::Reply {
    app.call_as(None, Method::POST, "/v1/admin/token", Some(body))
        .await
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn seed_000_token_exchange() {
    let app = app().await;
    let (client_id, secret) = client(&app, json!({"name": "portal"})).await;
    assert_eq!(client_id.len(), 40);
    let request = json!({"client_id": client_id, "client_secret": secret, "type": "client"});
    // The admin API is off until enabled (seed 000).
    let disabled = token_request(&app, request.clone()).await;
    assert_error(&disabled, StatusCode::FORBIDDEN, "admin_api_disabled");
    let enabled = app
        .call_as(
            Some(&app.key),
            Method::PATCH,
            &format!("/v1/api-clients/{client_id}"),
            Some(json!({"admin_api_enabled": true})),
        )
        .await;
    assert_eq!(enabled.body["admin_api_enabled"], true);

    let reply = token_request(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["expires_in"], 86400);
    let token = reply.body["client_token"].as_str().unwrap().to_owned();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let claims = claims_of(&token);
    assert_eq!(claims["cid"], client_id.as_str());
    assert_eq!(claims["sub"], client_id.as_str());
    assert_eq!(claims["scp"], json!(["appuser:read", "appuser:write"]));
    assert_eq!(claims["iss"], "roster");
    assert_eq!(claims["aud"], "roster-admin");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86400
    );

    // The JWKS publishes the key that signed it.
    let jwks = app
        .call_as(None, Method::GET, "/.well-known/jwks.json", None)
        .await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [header.kid.as_deref().unwrap()]);
    assert_eq!(jwks.body["keys"][0]["kty"], "RSA");

    // The token is a Bearer credential within its scopes.
    assert_eq!(
        app.call_as(Some(&token), Method::POST, "/v1/users", Some(USER()))
            .await
            .status,
        StatusCode::CREATED
    );
    let list = app
        .call_as(Some(&token), Method::GET, "/v1/users", None)
        .await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(list.headers["x-ratelimit-limit"], "1000");
    let denied = app
        .call_as(Some(&token), Method::GET, "/v1/api-keys", None)
        .await;
    assert_error(
        &denied,
        StatusCode::FORBIDDEN,
        "missing_scope_credentials_manage",
    );

    // Turning the admin API off, or revoking the client, stops its tokens.
    app.call_as(
        Some(&app.key),
        Method::PATCH,
        &format!("/v1/api-clients/{client_id}"),
        Some(json!({"admin_api_enabled": false})),
    )
    .await;
    assert_error(
        &app.call_as(Some(&token), Method::GET, "/v1/users", None)
            .await,
        StatusCode::FORBIDDEN,
        "admin_api_disabled",
    );
    app.call_as(
        Some(&app.key),
        Method::DELETE,
        &format!("/v1/api-clients/{client_id}"),
        None,
    )
    .await;
    assert_error(
        &app.call_as(Some(&token), Method::GET, "/v1/users", None)
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );
}

#[tokio::test]
async fn token_requests_are_validated() {
    let app = app().await;
    let (client_id, secret) = client(&app, json!({"admin_api_enabled": true})).await;
    let cases = [
        (
            json!({"client_id": client_id, "client_secret": secret}),
            StatusCode::BAD_REQUEST,
            "field_required",
        ),
        (
            json!({"client_id": client_id, "client_secret": secret, "type": "user"}),
            StatusCode::BAD_REQUEST,
            "invalid_token_request",
        ),
        (
            json!({"client_secret": secret, "type": "client"}),
            StatusCode::BAD_REQUEST,
            "field_required",
        ),
        (
            json!({"client_id": client_id, "type": "client"}),
            StatusCode::BAD_REQUEST,
            "field_required",
        ),
        (
            json!({"client_id": 5, "client_secret": secret, "type": "client"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"client_id": client_id, "client_secret": "wrong", "type": "client"}),
            StatusCode::UNAUTHORIZED,
            "invalid_client_credentials",
        ),
        (
            json!({"client_id": "0".repeat(40), "client_secret": secret, "type": "client"}),
            StatusCode::UNAUTHORIZED,
            "invalid_client_credentials",
        ),
        (
            json!({"client_id": "not-hex", "client_secret": secret, "type": "client"}),
            StatusCode::UNAUTHORIZED,
            "invalid_client_credentials",
        ),
    ];
    for (body, status, code) in cases {
        assert_error(&token_request(&app, body).await, status, code);
    }
    let bad_json = app
        .call_raw(Method::POST, "/v1/admin/token", Some("{".into()))
        .await;
    assert_error(&bad_json, StatusCode::BAD_REQUEST, "invalid_json");
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused() {
    let app = app().await;
    let (client_id, secret) = client(&app, json!({"admin_api_enabled": true})).await;
    let request = json!({"client_id": client_id, "client_secret": secret, "type": "client"});
    let token = token_request(&app, request.clone()).await.body["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let [head, payload, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let claims = claims_of(&token);
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();

    let mut more_scopes = claims.clone();
    more_scopes["scp"] = json!(["admin"]);
    let tampered = format!("{head}.{}.{signature}", b64(&more_scopes));
    let alg_none = format!("{}.{payload}.", b64(&json!({"alg": "none", "kid": kid})));
    // The classic confusion attack: HS256 keyed with the public key.
    let jwks = app
        .call_as(None, Method::GET, "/.well-known/jwks.json", None)
        .await;
    let modulus = jwks.body["keys"][0]["n"].as_str().unwrap().to_owned();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &EncodingKey::from_secret(modulus.as_bytes()),
    )
    .unwrap();
    let unknown_kid = format!(
        "{}.{payload}.{signature}",
        b64(&json!({"alg": "RS256", "kid": "nope"}))
    );

    // Signed with the real key, but not valid yet.
    let stored = app.roster.list_signing_keys().await.unwrap();
    let private = EncodingKey::from_rsa_pem(stored[0].private_pem.as_bytes()).unwrap();
    let mut rs_header = Header::new(Algorithm::RS256);
    rs_header.kid = Some(kid.clone());
    let mut future = claims.clone();
    future["nbf"] = json!(claims["iat"].as_i64().unwrap() + 3600);
    let not_yet = jsonwebtoken::encode(&rs_header, &future, &private).unwrap();
    let mut foreign = claims.clone();
    foreign["aud"] = json!("someone-else");
    let wrong_audience = jsonwebtoken::encode(&rs_header, &foreign, &private).unwrap();

    for bad in [
        &tampered,
        &alg_none,
        &hs256,
        &unknown_kid,
        &not_yet,
        &wrong_audience,
        &format!("{token}x"),
    ] {
        let reply = app.call_as(Some(bad), Method::GET, "/v1/users", None).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
    }
    assert_eq!(
        app.call_as(Some(&token), Method::GET, "/v1/users", None)
            .await
            .status,
        StatusCode::OK
    );
    app.clock.advance(Duration::seconds(86_400));
    let expired = app
        .call_as(Some(&token), Method::GET, "/v1/users", None)
        .await;
    assert_error(&expired, StatusCode::UNAUTHORIZED, "token_expired");
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_they_expire() {
    let app = app().await;
    let (client_id, secret) = client(&app, json!({"admin_api_enabled": true})).await;
    let request = json!({"client_id": client_id, "client_secret": secret, "type": "client"});
    let old = token_request(&app, request.clone()).await.body["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::hours(1));
    let rotated = app.roster.rotate_signing_key().await.unwrap();
    let new = token_request(&app, request).await.body["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(),
        Some(rotated.kid.as_str())
    );
    assert_ne!(
        jsonwebtoken::decode_header(&old).unwrap().kid,
        jsonwebtoken::decode_header(&new).unwrap().kid
    );
    let jwks = app
        .call_as(None, Method::GET, "/.well-known/jwks.json", None)
        .await;
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 2);
    for token in [&old, &new] {
        assert_eq!(
            app.call_as(Some(token), Method::GET, "/v1/users", None)
                .await
                .status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn client_management_is_validated() {
    let app = app().await;
    let manager = app.key_with(&["credentials:manage", "users:read"]).await;
    let escalate = app
        .call_as(
            Some(&manager),
            Method::POST,
            "/v1/api-clients",
            Some(json!({"scopes": ["users:read", "users:write"]})),
        )
        .await;
    assert_error(&escalate, StatusCode::FORBIDDEN, "scope_not_delegable");
    let made = app
        .call_as(
            Some(&manager),
            Method::POST,
            "/v1/api-clients",
            Some(json!({"scopes": ["users:read"], "name": "ro"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    assert_eq!(made.body["admin_api_enabled"], false);
    let id = made.body["client_id"].as_str().unwrap();
    let uri = format!("/v1/api-clients/{id}");
    let got = app.call_as(Some(&manager), Method::GET, &uri, None).await;
    assert!(got.body.get("client_secret").is_none());
    assert_eq!(got.body["name"], "ro");
    for (body, status, code) in [
        (
            json!({"scopes": ["admin"]}),
            StatusCode::FORBIDDEN,
            "scope_not_delegable",
        ),
        (
            json!({"scopes": ["bogus"]}),
            StatusCode::BAD_REQUEST,
            "unknown_scope",
        ),
        (
            json!({"rate_limit_per_minute": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_rate_limit",
        ),
        (
            json!({"admin_api_enabled": "yes"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
    ] {
        assert_error(
            &app.call_as(Some(&manager), Method::PATCH, &uri, Some(body))
                .await,
            status,
            code,
        );
    }
    for missing in [
        "/v1/api-clients/nope",
        &format!("/v1/api-clients/{}", "0".repeat(40)),
    ] {
        assert_error(
            &app.call_as(Some(&manager), Method::GET, missing, None)
                .await,
            StatusCode::NOT_FOUND,
            "api_client_not_found",
        );
    }
}

// ---- workspaces -------------------------------------------------------------------------

#[tokio::test]
async fn workspaces_are_managed_by_operator_admins_only() {
    let app = app().await;
    let created = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/workspaces",
            Some(json!({"name": "acme", "rate_limit_per_minute": 50})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["is_operator"], false);
    assert_eq!(created.body["rate_limit_per_minute"], 50);
    let list = app
        .call_as(Some(&app.key), Method::GET, "/v1/workspaces", None)
        .await;
    let names: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "acme"]);
    let taken = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/workspaces",
            Some(json!({"name": "acme"})),
        )
        .await;
    assert_error(&taken, StatusCode::CONFLICT, "workspace_name_taken");
    let bad = app
        .call_as(
            Some(&app.key),
            Method::POST,
            "/v1/workspaces",
            Some(json!({"name": "Not A Slug"})),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_workspace_name");
    let missing = app
        .call_as(
            Some(&app.key),
            Method::PATCH,
            "/v1/workspaces/nope",
            Some(json!({"rate_limit_per_minute": 5})),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "workspace_not_found");

    let acme = app.roster.find_workspace("acme").await.unwrap();
    let acme_admin = app.key_in(&acme, &["admin"]).await;
    for (method, uri, body) in [
        (Method::GET, "/v1/workspaces".to_owned(), None),
        (
            Method::POST,
            "/v1/workspaces".to_owned(),
            Some(json!({"name": "evil"})),
        ),
        (
            Method::PATCH,
            format!("/v1/workspaces/{}", acme.id),
            Some(json!({"rate_limit_per_minute": 1_000_000})),
        ),
    ] {
        let reply = app.call_as(Some(&acme_admin), method, &uri, body).await;
        assert_error(&reply, StatusCode::FORBIDDEN, "operator_workspace_required");
    }
}

//! The test harness shared by the HTTP test binaries: a fresh SQLite store per test, the
//! real router, a pinned clock, and helpers to call it as one credential or another.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use roster_core::{AuditContext, KeyRequest, ManualClock, Roster, Scope, SeededRandom, Store};
use roster_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct App {
    pub router: Router,
    pub roster: Roster,
    /// The store under the core, for tests that look at what was written.
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub key: String,
    /// What keeps the store's database alive (a temporary directory, or a PostgreSQL
    /// database dropped with it).
    pub _dir: Box<dyn std::any::Any + Send + Sync>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

/// The app on a fresh SQLite store.
pub async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    app_on(Arc::new(store), Box::new(dir)).await
}

/// The app on a fresh PostgreSQL database, or `None` when PostgreSQL is not reachable and
/// not required (the reason is printed).
pub async fn pg_app() -> Option<App> {
    let db = roster_store_postgres::testing::fresh_database().await?;
    let (store, guard) = db.with_guard();
    Some(app_on(Arc::new(store), Box::new(guard)).await)
}

/// Expand each named `async fn(App)` into one test on SQLite and one on PostgreSQL.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::common::app().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    if let Some(app) = $crate::common::pg_app().await {
                        super::$case(app).await;
                    }
                }
            )*
        }
    };
}

pub async fn app_on(store: Arc<dyn Store>, keep: Box<dyn std::any::Any + Send + Sync>) -> App {
    let start = Utc.with_ymd_and_hms(2024, 11, 15, 8, 30, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let roster = Roster::new(
        store.clone(),
        clock.clone(),
        Arc::new(SeededRandom::new(42)),
    );
    let made = roster.bootstrap(None).await.unwrap().unwrap();
    App {
        router: roster_http::router(roster.clone()),
        roster,
        store,
        clock,
        key: made.key.secret,
        _dir: keep,
    }
}

impl App {
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        self.call_raw(method, uri, body.map(|b| b.to_string()))
            .await
    }

    pub async fn call_raw(&self, method: Method, uri: &str, body: Option<String>) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key));
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body)),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    pub async fn create(&self, body: Value) -> Value {
        let reply = self.call(Method::POST, "/v1/users", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    pub async fn create_named(&self, n: usize, role: &str) -> Value {
        self.create(json!({
            "name": format!("User {n}"),
            "email": format!("user{n}@example.com"),
            "role": role,
            "send_invitation": n.is_multiple_of(2),
        }))
        .await
    }
}

/// Assert the seed 002 error envelope with `code` and `status`.
#[track_caller]
pub fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let error = &reply.body["error"];
    assert_eq!(error["code"], code, "{}", reply.body);
    assert_eq!(error["status"], status.as_u16());
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    let request_id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(error["request_id"], request_id);
}

impl App {
    /// One request with `credential` as the Bearer token (or no Authorization at all).
    pub async fn call_as(
        &self,
        credential: Option<&str>,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(credential) = credential {
            request = request.header(header::AUTHORIZATION, format!("Bearer {credential}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    /// A new key of the default workspace with these scopes.
    pub async fn key_with(&self, scopes: &[&str]) -> String {
        let ws = self.roster.find_workspace("default").await.unwrap();
        self.key_in(&ws, scopes).await
    }

    pub async fn key_in(&self, ws: &roster_core::Workspace, scopes: &[&str]) -> String {
        let request = KeyRequest {
            name: Some("test".into()),
            scopes: Some(scopes.iter().map(|s| (*s).to_owned()).collect()),
            ..KeyRequest::default()
        };
        self.roster
            .create_api_key(ws, &AuditContext::operator(), request, &[Scope::Admin])
            .await
            .unwrap()
            .secret
    }
}

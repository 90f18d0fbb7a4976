//! Invitation mail over real SMTP: an SMTP server started by the test (a minimal sink on
//! 127.0.0.1) receives what the delivery worker sends through lettre; the token read out of
//! the delivered mail activates the user through the real router. Refusals are retried with
//! backoff (4xx) or given up (5xx).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use roster_core::{ManualClock, Roster, SeededRandom, Store};
use roster_mail::SmtpSender;
use roster_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// An SMTP server that keeps what it is sent, and answers the next DATA with a queued
/// refusal when there is one.
#[derive(Clone, Default)]
struct Sink {
    received: Arc<Mutex<Vec<String>>>,
    refusals: Arc<Mutex<VecDeque<&'static str>>>,
}

impl Sink {
    async fn start(&self) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(sink.clone().session(stream));
            }
        });
        port
    }

    async fn session(self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply: String = match verb.as_str() {
                "EHLO" | "HELO" => "250 sink\r\n".into(),
                "MAIL" | "RCPT" | "RSET" | "NOOP" => "250 OK\r\n".into(),
                "DATA" => {
                    write.write_all(b"354 go ahead\r\n").await.unwrap();
                    let mut message = String::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if line == "." {
                            break;
                        }
                        // Undo dot-stuffing (RFC 5321 4.5.2).
                        message.push_str(line.strip_prefix('.').unwrap_or(&line));
                        message.push('\n');
                    }
                    let refusal = self.refusals.lock().unwrap().pop_front();
                    match refusal {
                        Some(refusal) => format!("{refusal}\r\n"),
                        None => {
                            self.received.lock().unwrap().push(message);
                            "250 OK queued\r\n".into()
                        }
                    }
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => "502 not implemented\r\n".into(),
            };
            if write.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    fn messages(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

struct App {
    router: axum::Router,
    roster: Roster,
    clock: Arc<ManualClock>,
    key: String,
    _dir: tempfile::TempDir,
}

impl App {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("roster.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2024, 11, 15, 8, 30, 0).unwrap(),
        ));
        let roster = Roster::new(
            Arc::new(store),
            clock.clone(),
            Arc::new(SeededRandom::new(7)),
        );
        let made = roster.bootstrap(None).await.unwrap().unwrap();
        Self {
            router: roster_http::router(roster.clone()),
            roster,
            clock,
            key: made.key.secret,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
        key: bool,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", self.key));
        }
        let request = request
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, body)
    }

    async fn invite(&self, email: &str) {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/users",
                Some(json!({"name": "Ann Lee", "email": email, "role": "viewer"})),
                true,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn outbox(&self) -> Vec<Value> {
        let (_, body) = self.call(Method::GET, "/v1/outbox", None, true).await;
        body["data"].as_array().unwrap().clone()
    }
}

/// The body of a delivered message, with quoted-printable soft breaks undone.
fn body_of(message: &str) -> String {
    let (headers, body) = message.split_once("\n\n").unwrap();
    if headers.to_ascii_lowercase().contains("quoted-printable") {
        body.replace("=\n", "").replace("=3D", "=")
    } else {
        body.to_owned()
    }
}

fn token_in(text: &str) -> String {
    let start = text.find("inv_").expect("a token in the mail");
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[tokio::test]
async fn invitation_is_delivered_over_smtp_and_its_token_activates_the_user() {
    let sink = Sink::default();
    let port = sink.start().await;
    let app = App::new().await;
    let sender = SmtpSender::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Roster <roster@example.com>",
    )
    .unwrap();
    app.invite("ann@example.com").await;

    let report = app.roster.deliver_due_mail(&sender, 10).await.unwrap();
    assert_eq!(report.sent, 1);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(message.contains("To: ann@example.com"), "{message}");
    assert!(
        message.contains("From: Roster <roster@example.com>"),
        "{message}"
    );
    assert!(
        message.contains("Subject: You are invited to default"),
        "{message}"
    );
    let token = token_in(&body_of(message));

    // Delivered: the outbox keeps the record, not the token.
    let mail = &app.outbox().await[0];
    assert_eq!(
        (mail["status"].as_str(), &mail["text"]),
        (Some("sent"), &Value::Null)
    );
    assert_eq!(
        app.roster.deliver_due_mail(&sender, 10).await.unwrap().sent,
        0,
        "sent once"
    );

    let (status, user) = app
        .call(
            Method::POST,
            "/v1/invitations/accept",
            Some(json!({"token": token, "password": "a long passphrase"})),
            false,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["status"], "active");
}

#[tokio::test]
async fn refused_mail_is_retried_with_backoff_or_given_up() {
    let sink = Sink::default();
    let port = sink.start().await;
    let app = App::new().await;
    let sender =
        SmtpSender::new(&format!("smtp://127.0.0.1:{port}"), "roster@example.com").unwrap();

    sink.refusals
        .lock()
        .unwrap()
        .push_back("451 4.3.0 busy, try later");
    app.invite("ann@example.com").await;
    let report = app.roster.deliver_due_mail(&sender, 10).await.unwrap();
    assert_eq!((report.sent, report.retried), (0, 1));
    let mail = &app.outbox().await[0];
    assert_eq!(
        (mail["status"].as_str(), mail["attempts"].as_u64()),
        (Some("pending"), Some(1))
    );
    assert!(mail["last_error"].as_str().unwrap().contains("451"));
    assert_eq!(mail["next_attempt_at"], "2024-11-15T08:30:30Z");
    // Not due again before its backoff is over.
    app.clock.advance(Duration::seconds(29));
    assert_eq!(
        app.roster.deliver_due_mail(&sender, 10).await.unwrap().sent,
        0
    );
    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        app.roster.deliver_due_mail(&sender, 10).await.unwrap().sent,
        1
    );
    assert_eq!(sink.messages().len(), 1);

    // A permanent refusal is final.
    sink.refusals
        .lock()
        .unwrap()
        .push_back("550 5.1.1 no such mailbox");
    app.invite("ghost@example.com").await;
    let report = app.roster.deliver_due_mail(&sender, 10).await.unwrap();
    assert_eq!(report.failed, 1);
    let mail = &app.outbox().await[0];
    assert_eq!(
        (mail["status"].as_str(), mail["to"].as_str()),
        (Some("failed"), Some("ghost@example.com"))
    );
    app.clock.advance(Duration::hours(2));
    assert_eq!(
        app.roster.deliver_due_mail(&sender, 10).await.unwrap(),
        Default::default()
    );
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_failure() {
    // A port nobody listens on: bind one, then free it.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = App::new().await;
    let sender =
        SmtpSender::new(&format!("smtp://127.0.0.1:{port}"), "roster@example.com").unwrap();
    app.invite("ann@example.com").await;
    let report = app.roster.deliver_due_mail(&sender, 10).await.unwrap();
    assert_eq!(report.retried, 1);
    assert!(SmtpSender::new("not a url", "roster@example.com").is_err());
    assert!(SmtpSender::new("smtp://127.0.0.1:25", "not an address").is_err());
}

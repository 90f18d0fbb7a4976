//! The server's connection limits over real TCP: slow headers, slow bodies, the connection
//! cap and the shutdown deadline. Each wait is bounded; none asserts how long anything took.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use std::time::Duration;

use roster_http::server::{serve, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Long enough for anything that should happen to have happened on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _app: common::App,
}

async fn start(limits: Limits) -> Server {
    let app = common::app().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app.router.clone();
    let task = tokio::spawn(serve(listener, router, limits, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task,
        _app: app,
    }
}

fn limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_secs(60),
        body_idle_timeout: Duration::from_secs(60),
        max_connections: 16,
        shutdown_grace: Duration::from_secs(60),
    }
}

/// Read until the server closes the connection; what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut seen))
        .await
        .expect("the server should have closed the connection")
        .ok();
    String::from_utf8_lossy(&seen).into_owned()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: roster\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn headers_sent_too_slowly_lose_the_connection() {
    let server = start(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: ros")
        .await
        .unwrap();
    let answer = read_to_close(&mut slow).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // A prompt client is served as ever.
    let mut prompt = TcpStream::connect(server.addr).await.unwrap();
    prompt.write_all(HEALTH).await.unwrap();
    assert!(read_to_close(&mut prompt).await.contains("200 OK"));
}

#[tokio::test]
async fn a_body_that_stalls_is_cut_off_in_the_envelope() {
    let server = start(Limits {
        body_idle_timeout: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let key = &server._app.key;
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"na"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_their_turn() {
    let server = start(Limits {
        max_connections: 1,
        ..limits()
    })
    .await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    // The first connection is accepted and served (and kept open).
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: roster\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 512];
    let n = tokio::time::timeout(PATIENCE, first.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).contains("200 OK"));
    // The second waits unanswered while the first is open...
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    second.write_all(HEALTH).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buffer)).await;
    assert!(early.is_err(), "answered beyond the cap");
    // ...and is served once it closes.
    drop(first);
    assert!(read_to_close(&mut second).await.contains("200 OK"));
}

#[tokio::test]
async fn shutdown_closes_lingering_connections_after_the_grace_period() {
    let mut server = start(Limits {
        shutdown_grace: Duration::from_millis(300),
        ..limits()
    })
    .await;
    // A client that sends half a body and then nothing.
    let mut lingering = TcpStream::connect(server.addr).await.unwrap();
    let key = server._app.key.clone();
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer {key}\r\n\
         Content-Length: 100\r\n\r\n{{\"na"
    );
    lingering.write_all(head.as_bytes()).await.unwrap();
    // Let the server take the request in before it is told to stop.
    let mut probe = TcpStream::connect(server.addr).await.unwrap();
    probe.write_all(HEALTH).await.unwrap();
    assert!(read_to_close(&mut probe).await.contains("200 OK"));
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(PATIENCE, &mut server.task)
        .await
        .expect("the server should stop after its grace period")
        .unwrap();
    // The listener is gone and the lingering connection was closed.
    assert!(TcpStream::connect(server.addr).await.is_err());
    read_to_close(&mut lingering).await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let server = start(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: roster\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 512];
    let n = tokio::time::timeout(PATIENCE, idle.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).contains("200 OK"));
    // Kept alive, and then silent: the server closes it.
    let answer = read_to_close(&mut idle).await;
    assert!(answer.is_empty(), "{answer}");
}

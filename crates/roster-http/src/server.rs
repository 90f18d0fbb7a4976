//! Serving the router over TCP with the limits a server facing the open network needs: a
//! slow or silent client cannot hold a connection, nor run the process out of file
//! descriptors, nor keep a stopping node alive.
//!
//! - **Headers** must arrive within [`Limits::header_read_timeout`] (10 s by default) of a
//!   connection being ready for a request, else the connection is closed (hyper's HTTP/1
//!   header timeout; it covers idle keep-alive connections too).
//! - **Bodies** may not pause longer than [`Limits::body_idle_timeout`] (30 s) between two
//!   reads, as nginx's `client_body_timeout`: an import streaming a large file keeps going
//!   as long as bytes keep coming.
//! - **Connections** are capped at [`Limits::max_connections`] (1,024): past it the server
//!   stops accepting until one closes, and new clients wait in the kernel's backlog.
//! - **Shutdown** stops accepting at once, lets requests in flight finish, and closes every
//!   connection still open after [`Limits::shutdown_grace`] (30 s), so a rolling deploy
//!   never stalls on a client that holds a connection open.
//!
//! This is hyper-util's connection builder and graceful-shutdown watcher with an accept
//! loop around them: `axum::serve` offers none of these limits.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// The server's limits; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub body_idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            max_connections: 1_024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// A pause after a failed accept (out of file descriptors, say), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serve `router` on `listener` until `shutdown` completes, then shut down gracefully
/// within the grace period.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Headers up to twice the guard's limit reach the guard, which answers in the
        // surface's envelope; beyond that hyper answers 431 itself.
        .max_buf_size(2 * crate::surface::MAX_HEADER_BYTES + crate::surface::MAX_URI_BYTES);
    builder.http2().timer(TokioTimer::new());
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // `biased`: a requested stop wins over a waiting connection.
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let body_timeout = limits.body_idle_timeout;
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request.map(|body| axum::body::Body::new(TimeoutBody::new(body_timeout, body)))
            });
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tracing::info!(
        open = graceful.count(),
        "no longer accepting; finishing requests in flight"
    );
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            grace_seconds = limits.shutdown_grace.as_secs(),
            "closing connections still open after the shutdown grace period"
        );
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
}

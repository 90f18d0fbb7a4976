//! `roster-bench load`: a steady mixed load at a fixed rate, for the soak (`bench/soak`).
//!
//! Open loop: request n is due at `start + n / rate` whatever happened to the ones before
//! it, and its latency counts from when it was due, so a server that stalls shows the stall
//! in every request that queued behind it (wrk's closed loop would wait politely and hide
//! it). Each second's answers are printed as one JSON line; the whole run's summary last.
//!
//! wrk2 does this for one request shape; the soak needs a mix of reads and audited writes
//! against ids it learns as it goes, so the few lines of scheduling are written here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// At most this many requests in flight; one due beyond it is counted as refused.
const IN_FLIGHT_MAX: u64 = 512;
/// A request unanswered after this is an error.
const TIMEOUT: Duration = Duration::from_secs(5);

pub struct LoadArgs {
    pub server: String,
    pub key: String,
    pub rate: u64,
    pub seconds: u64,
    pub ids: Vec<String>,
    pub seed: u64,
}

/// What the requests of one second (or the whole run) met.
#[derive(Default)]
struct Tally {
    sent: u64,
    ok: u64,
    /// Answers that were not 2xx, by status.
    statuses: std::collections::BTreeMap<u16, u64>,
    /// Connection failures and timeouts.
    failed: u64,
    /// Due while `IN_FLIGHT_MAX` were waiting.
    refused: u64,
    latencies_us: Vec<u64>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        self.sent += 1;
        match outcome {
            Outcome::Answered(status, micros) => {
                self.latencies_us.push(micros);
                if (200..300).contains(&status) {
                    self.ok += 1;
                } else {
                    *self.statuses.entry(status).or_default() += 1;
                }
            }
            Outcome::Failed => self.failed += 1,
            Outcome::Refused => self.refused += 1,
        }
    }

    fn errors(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.failed + self.refused
    }

    fn report(&mut self, second: Option<u64>) -> Value {
        self.latencies_us.sort_unstable();
        let at = |q: f64| -> f64 {
            let n = self.latencies_us.len();
            if n == 0 {
                return 0.0;
            }
            let i = ((n as f64 * q).ceil() as usize).clamp(1, n) - 1;
            self.latencies_us[i] as f64 / 1000.0
        };
        json!({
            "second": second,
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors(),
            "statuses": self.statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "failed": self.failed,
            "refused": self.refused,
            "p50_ms": at(0.50),
            "p99_ms": at(0.99),
            "max_ms": at(1.0),
        })
    }
}

#[derive(Clone, Copy)]
enum Outcome {
    Answered(u16, u64),
    Failed,
    Refused,
}

/// One request of the mix: method, path and body.
fn pick(
    run: u64,
    rng: &mut StdRng,
    ids: &[String],
    made: &Mutex<Vec<String>>,
    n: u64,
) -> (Method, String, Option<Value>) {
    let any_id = |rng: &mut StdRng| ids[rng.gen_range(0..ids.len())].clone();
    match rng.gen_range(0..100) {
        // Reads: a user, a list page, a filtered page, a search.
        0..40 => (Method::GET, format!("/v1/users/{}", any_id(rng)), None),
        40..55 => (Method::GET, "/v1/users?limit=20".into(), None),
        55..62 => (
            Method::GET,
            "/v1/users?limit=20&role=editor&status=inactive".into(),
            None,
        ),
        62..70 => {
            let term = ["xotel", "garcia", "lopez.99", "acme", "müller"][rng.gen_range(0..5)];
            (
                Method::GET,
                format!("/v1/users?limit=20&search={}", encode(term)),
                None,
            )
        }
        // Writes, each audited: a new user, a rename, a deactivation and back.
        70..85 => {
            let body = json!({
                "name": format!("Soak {n}"),
                "email": format!("soak.{run}.{n}@soak.example"),
                "role": "viewer",
                "send_invitation": false,
            });
            (Method::POST, "/v1/users".into(), Some(body))
        }
        85..95 => {
            let id = made
                .lock()
                .ok()
                .and_then(|made| {
                    (!made.is_empty()).then(|| made[rng.gen_range(0..made.len())].clone())
                })
                .unwrap_or_else(|| any_id(rng));
            let body = json!({"name": format!("Renamed {n}")});
            (Method::PATCH, format!("/v1/users/{id}"), Some(body))
        }
        _ => {
            let id = made.lock().ok().and_then(|mut made| {
                let at = rng.gen_range(0..made.len().max(1));
                (at < made.len()).then(|| made.swap_remove(at))
            });
            match id {
                Some(id) => (
                    Method::POST,
                    format!("/v1/users/{id}/deactivate"),
                    Some(json!({})),
                ),
                None => (Method::GET, format!("/v1/users/{}", any_id(rng)), None),
            }
        }
    }
}

fn encode(term: &str) -> String {
    term.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.ids.is_empty(), "the load needs at least one user id");
    anyhow::ensure!(args.rate > 0, "--rate must be above 0");
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(IN_FLIGHT_MAX as usize)
        .build_http();
    let ids = Arc::new(args.ids);
    let made = Arc::new(Mutex::new(Vec::<String>::new()));
    let in_flight = Arc::new(AtomicU64::new(0));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(u64, Outcome)>();
    let mut rng = StdRng::seed_from_u64(args.seed);
    // New users' emails carry the run's start, so a second run on the same database makes
    // new users, not conflicts.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let start = Instant::now();
    let total = args.rate * args.seconds;
    let step = Duration::from_secs(1).as_nanos() as f64 / args.rate as f64;

    let reporter = tokio::spawn(async move {
        let mut whole = Tally::default();
        let mut seconds: std::collections::BTreeMap<u64, Tally> = Default::default();
        while let Some((second, outcome)) = receiver.recv().await {
            seconds.entry(second).or_default().add(outcome);
            whole.add(outcome);
            // A second is printed once the next-but-one has begun answering.
            while seconds.len() > 2 {
                if let Some((s, mut done)) = seconds.pop_first() {
                    println!("{}", done.report(Some(s)));
                }
            }
        }
        for (s, mut done) in seconds {
            println!("{}", done.report(Some(s)));
        }
        println!("{}", whole.report(None));
    });

    for n in 0..total {
        let due = start + Duration::from_nanos((n as f64 * step) as u64);
        tokio::time::sleep_until(due.into()).await;
        let second = n / args.rate;
        if in_flight.load(Ordering::Relaxed) >= IN_FLIGHT_MAX {
            let _ = sender.send((second, Outcome::Refused));
            continue;
        }
        let (method, path, body) = pick(run, &mut rng, &ids, &made, n);
        let creates = method == Method::POST && path == "/v1/users";
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{}{}", args.server, path))
            .header("authorization", format!("Bearer {}", args.key))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .context("building a request")?;
        let client = client.clone();
        let sender = sender.clone();
        let in_flight = in_flight.clone();
        let made = made.clone();
        in_flight.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let answer = tokio::time::timeout(TIMEOUT, async {
                let response = client.request(request).await.ok()?;
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.ok()?.to_bytes();
                Some((status, body))
            })
            .await
            .ok()
            .flatten();
            let outcome = match answer {
                Some((status, body)) => {
                    if creates && status == 201 {
                        if let Some(id) = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|v| v["data"]["id"].as_str().map(str::to_owned))
                        {
                            if let Ok(mut made) = made.lock() {
                                made.push(id);
                            }
                        }
                    }
                    Outcome::Answered(status, due.elapsed().as_micros() as u64)
                }
                None => Outcome::Failed,
            };
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let _ = sender.send((second, outcome));
        });
    }
    drop(sender);
    reporter.await.context("the reporter stopped")?;
    Ok(())
}

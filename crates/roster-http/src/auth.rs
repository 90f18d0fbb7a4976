//! Credentials on the native API: `Authorization: Bearer <secret key or client token>`, or
//! HTTP Basic with the secret key as user name and a blank password (as seed 001 does it).
//!
//! [`middleware`] authenticates, takes one request from the caller's rate budget, and puts
//! the [`Caller`] in the request for handlers; every authenticated response, on every
//! surface, carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
//! (UNIX time; added by [`crate::surface::guard`]), and a refused one also `Retry-After`
//! (seconds).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{HeaderMap, AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use roster_core::{AuditContext, Code, Principal, RateDecision};

use crate::error::{ApiError, HttpCode};
use crate::{request_id, AppState};

/// The authenticated caller, as handlers receive it, with what the audit log records of its
/// request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    audit: AuditContext,
}

impl Caller {
    /// Who is changing things, through which request, for the audit log.
    pub fn audit(&self) -> &AuditContext {
        &self.audit
    }
}

impl std::ops::Deref for Caller {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// The request's id, client address and user agent, as the audit log records them, with
/// `actor` as the one acting.
fn audit_context(
    actor: roster_core::Actor,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> AuditContext {
    let ip = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(512).collect());
    AuditContext {
        actor,
        request_id: request_id::current(),
        ip,
        user_agent,
    }
}

/// What the audit log records of a request that carries no credential (one whose body
/// proves who acts, like an invitation token): its id, client address and user agent. The
/// core names the actor once it knows it.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub AuditContext);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(audit_context(
            roster_core::Actor::System,
            &parts.extensions,
            &parts.headers,
        )))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Only reachable on a route mounted without the middleware: a bug, not bad input.
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            tracing::error!(
                path = parts.uri.path(),
                "route needs a caller but has no auth middleware"
            );
            ApiError::http(HttpCode::InternalError)
        })
    }
}

/// The credential presented in an `Authorization` header value, if it is a Bearer or
/// Basic credential in a form Roster accepts.
pub fn presented_credential(header: &str) -> Option<String> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        return match decoded.split_once(':') {
            Some((user, "")) if !user.is_empty() => Some(user.to_owned()),
            _ => None,
        };
    }
    None
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let Some(header) = headers.get(AUTHORIZATION) else {
        return Err(HttpCode::MissingApiKey.into());
    };
    let credential = header
        .to_str()
        .ok()
        .and_then(presented_credential)
        .ok_or(HttpCode::InvalidApiKey)?;
    Ok(state.roster.authenticate(&credential).await?)
}

/// The `X-RateLimit-*` headers of `decision`, with the reset as UNIX time.
pub(crate) fn rate_headers(
    decision: &RateDecision,
    now_unix: i64,
) -> [(&'static str, HeaderValue); 3] {
    let reset = now_unix
        + i64::try_from(decision.reset_after.as_secs()).unwrap_or(i64::MAX / 2)
        + i64::from(decision.reset_after.subsec_nanos() > 0);
    [
        ("x-ratelimit-limit", HeaderValue::from(decision.limit)),
        (
            "x-ratelimit-remaining",
            HeaderValue::from(decision.remaining),
        ),
        ("x-ratelimit-reset", HeaderValue::from(reset)),
    ]
}

/// Take one request from `principal`'s budget; the decision goes into the request's rate
/// slot (the surface guard puts it in the response's headers). Over budget, the core's
/// `rate_limited` error with its retry time.
async fn take_budget(
    state: &AppState,
    principal: &Principal,
    extensions: &axum::http::Extensions,
) -> Result<(), roster_core::Error> {
    let decision = state.roster.admit(principal).await;
    if let Some(slot) = extensions.get::<crate::surface::RateSlot>() {
        slot.put(decision);
    }
    if decision.allowed {
        return Ok(());
    }
    let retry = decision
        .retry_after
        .map_or(1, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
    Err(roster_core::Error::new(
        Code::RateLimited,
        format!(
            "Rate limit of {} requests per minute exceeded; retry in {retry} s.",
            decision.limit
        ),
    )
    .with_retry_after(i64::try_from(retry).unwrap_or(i64::MAX)))
}

/// For the dialects, which carry credentials their own way and answer in their own formats:
/// authenticate `credential`, take one request from its budget, and make the caller. A
/// refusal is the core's error (`rate_limited` with its retry time when over budget).
pub async fn admit(
    state: &AppState,
    credential: &str,
    parts: &Parts,
) -> Result<Caller, roster_core::Error> {
    let principal = state.roster.authenticate(credential).await?;
    take_budget(state, &principal, &parts.extensions).await?;
    let audit = audit_context(principal.actor(), &parts.extensions, &parts.headers);
    Ok(Caller { principal, audit })
}

/// Authenticate, rate-limit, and hand the caller to the handler.
pub async fn middleware(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match authenticate(&state, request.headers()).await {
        Ok(principal) => principal,
        Err(err) => return err.into_response(),
    };
    if let Err(refused) = take_budget(&state, &principal, request.extensions()).await {
        return ApiError::from(refused).into_response();
    }
    let audit = audit_context(principal.actor(), request.extensions(), request.headers());
    request.extensions_mut().insert(Caller { principal, audit });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_blank_password_basic_are_accepted() {
        assert_eq!(
            presented_credential("Bearer sk_live_x").as_deref(),
            Some("sk_live_x")
        );
        assert_eq!(
            presented_credential("bearer  sk_live_x ").as_deref(),
            Some("sk_live_x")
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("sk_live_x:");
        assert_eq!(
            presented_credential(&format!("Basic {basic}")).as_deref(),
            Some("sk_live_x")
        );
    }

    #[test]
    fn other_forms_are_refused() {
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for bad in [
            "sk_live_x".to_owned(),
            "Token sk_live_x".to_owned(),
            "Bearer ".to_owned(),
            "Basic !!!".to_owned(),
            format!("Basic {}", encode("sk_live_x:pw")),
            format!("Basic {}", encode(":")),
            format!("Basic {}", encode("no-colon")),
        ] {
            assert_eq!(presented_credential(&bad), None, "{bad}");
        }
    }

    #[test]
    fn reset_is_rounded_up_to_whole_seconds() {
        let decision = RateDecision {
            allowed: true,
            limit: 10,
            remaining: 9,
            reset_after: std::time::Duration::from_millis(6_001),
            retry_after: None,
        };
        let headers = rate_headers(&decision, 1_000);
        assert_eq!(headers[2].1, HeaderValue::from(1_007));
    }
}

//! Secret-key authentication for the native API: `Authorization: Bearer sk_live_…`, or HTTP
//! Basic with the key as user name and a blank password (as seed 001 does it).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use roster_core::{Actor, ApiKey, Workspace};

use crate::error::{ApiError, HttpCode};
use crate::AppState;

/// The authenticated caller of a request: a key and the workspace it is bound to.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
    pub workspace: Workspace,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey {
            key_id: self.key.id.clone(),
        }
    }
}

/// The secret presented in an `Authorization` header value, if it is a Bearer or Basic
/// credential in a form Roster accepts.
pub fn presented_secret(header: &str) -> Option<String> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        return match decoded.split_once(':') {
            Some((user, "")) => Some(user.to_owned()),
            _ => None,
        };
    }
    None
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Err(HttpCode::MissingApiKey.into());
        };
        let secret = header
            .to_str()
            .ok()
            .and_then(presented_secret)
            .ok_or(HttpCode::InvalidApiKey)?;
        let (key, workspace) = state.roster.authenticate(&secret).await?;
        Ok(Caller { key, workspace })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_blank_password_basic_are_accepted() {
        assert_eq!(
            presented_secret("Bearer sk_live_x").as_deref(),
            Some("sk_live_x")
        );
        assert_eq!(
            presented_secret("bearer  sk_live_x ").as_deref(),
            Some("sk_live_x")
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("sk_live_x:");
        assert_eq!(
            presented_secret(&format!("Basic {basic}")).as_deref(),
            Some("sk_live_x")
        );
    }

    #[test]
    fn other_forms_are_refused() {
        let with_password = base64::engine::general_purpose::STANDARD.encode("sk_live_x:pw");
        for bad in [
            "sk_live_x",
            "Token sk_live_x",
            "Basic !!!",
            &format!("Basic {with_password}"),
        ] {
            assert_eq!(presented_secret(bad), None, "{bad}");
        }
    }
}

//! Sign-in and sessions.
//!
//! The caller's backend signs its users in with a secret key (`POST /v1/sessions`) and gets
//! an opaque session token for each. The session token itself (or a personal token) is the
//! credential of `/v1/sessions/current…`: `Authorization: Bearer ses_…` or `pat_…`. Admins
//! list and end a user's sessions, force a logout, set a password and revoke personal tokens
//! with secret keys.

use axum::extract::FromRequestParts;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::{AuthSettings, Code, Error, Scope, Session, SignIn};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, RequestOrigin};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::JsonBody;
use crate::native::users::{ListMeta, UserBody};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    /// The user's email (or give `external_id`).
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub password: Option<String>,
    /// The end user's IP address, as your backend saw it: recorded on the session and used
    /// to slow down repeated failures.
    pub ip: Option<String>,
    /// The end user's user agent.
    pub user_agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    #[schema(example = "ses_0j6ro9x9dihzpb199gjc")]
    pub id: String,
    /// `session` or `personal_token`.
    pub kind: &'static str,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: DateTime<Utc>,
    /// Null for a personal token (it lasts until revoked).
    #[serde(serialize_with = "crate::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<Session> for SessionBody {
    fn from(s: Session) -> Self {
        Self {
            id: s.id,
            kind: s.kind.as_str(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
        }
    }
}

/// A new session and its token, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSession {
    #[serde(flatten)]
    pub session: SessionBody,
    /// The credential of `/v1/sessions/current`: `Authorization: Bearer ses_…`.
    pub token: String,
    pub user: UserBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentSession {
    pub session: SessionBody,
    pub user: UserBody,
    pub workspace: WorkspaceRef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub data: Vec<SessionBody>,
    pub meta: ListMeta,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForceLogout {
    /// How many sessions ended.
    pub ended: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: Option<String>,
}

/// The session or personal token presented as `Authorization: Bearer …`.
pub struct SessionToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned());
        token.map(SessionToken).ok_or_else(|| {
            Error::new(
                Code::InvalidSession,
                "Present the session token as 'Authorization: Bearer ses_…'.",
            )
            .into()
        })
    }
}

/// Sign a user in with its email (or external id) and password. Wrong passwords, unknown
/// users and users who cannot sign in all get the same 401; repeated failures get 429.
#[utoipa::path(
    post, path = "/v1/sessions", tag = "sessions", request_body = SignInBody,
    responses(
        (status = 201, body = CreatedSession),
        (status = 400, body = ErrorEnvelope, description = "Missing name, empty or over-long password"),
        (status = 401, body = ErrorEnvelope, description = "invalid_credentials (or an invalid secret key)"),
        (status = 403, body = ErrorEnvelope, description = "session_limit_reached (with the refuse policy), or the key lacks users:write"),
        (status = 429, body = ErrorEnvelope, description = "too_many_attempts, with Retry-After"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn sign_in(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let issued = state
        .roster
        .sign_in(
            &caller.workspace,
            caller.audit(),
            SignIn {
                email: body.email,
                external_id: body.external_id,
                password: body.password,
                ip: body.ip,
                user_agent: body.user_agent,
                role: None,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSession {
            session: issued.session.into(),
            token: issued.token,
            user: issued.user.into(),
        }),
    ))
}

/// What the presented session (or personal token) stands for: its user and workspace. A
/// session's expiry slides with use.
#[utoipa::path(
    get, path = "/v1/sessions/current", tag = "sessions",
    responses(
        (status = 200, body = CurrentSession),
        (status = 401, body = ErrorEnvelope, description = "invalid_session, session_expired or session_ended"),
        (status = 403, body = ErrorEnvelope, description = "user_inactive"),
    ),
    security(("bearer" = []))
)]
pub async fn current(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Result<Json<CurrentSession>, ApiError> {
    let signed_in = state.roster.introspect(&token).await?;
    Ok(Json(CurrentSession {
        session: signed_in.session.into(),
        user: signed_in.user.into(),
        workspace: WorkspaceRef {
            id: signed_in.workspace.id,
            name: signed_in.workspace.name,
        },
    }))
}

/// Sign out: end the presented session (or personal token).
#[utoipa::path(
    delete, path = "/v1/sessions/current", tag = "sessions",
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []))
)]
pub async fn sign_out(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    SessionToken(token): SessionToken,
) -> Result<StatusCode, ApiError> {
    state.roster.sign_out(&origin, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create the signed-in user's personal token (seed 003), shown only this once. Needs a
/// sign-in session (not another token), a user whose `allow_authentication_token` is on,
/// and no live token already.
#[utoipa::path(
    post, path = "/v1/sessions/current/token", tag = "sessions",
    responses(
        (status = 201, body = CreatedSession),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope, description = "token_not_allowed, session_required or user_inactive"),
        (status = 409, body = ErrorEnvelope, description = "token_exists"),
    ),
    security(("bearer" = []))
)]
pub async fn create_token(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    SessionToken(token): SessionToken,
) -> Result<impl IntoResponse, ApiError> {
    let (personal, secret, user) = state.roster.create_personal_token(&origin, &token).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSession {
            session: personal.into(),
            token: secret,
            user: user.into(),
        }),
    ))
}

/// A user's live sessions and personal token, oldest first.
#[utoipa::path(
    get, path = "/v1/users/{id}/sessions", tag = "sessions",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionList>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let sessions = state
        .roster
        .list_user_sessions(&caller.workspace, &id)
        .await?;
    Ok(Json(SessionList {
        data: sessions.into_iter().map(SessionBody::from).collect(),
        meta: ListMeta::single_page(),
    }))
}

/// End one of a user's sessions (or its personal token).
#[utoipa::path(
    delete, path = "/v1/users/{id}/sessions/{session_id}", tag = "sessions",
    params(("id" = String, Path, description = "The user's id, usr_…"), ("session_id" = String, Path, description = "ses_…")),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope, description = "user_not_found or session_not_found")),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .end_user_session(&caller.workspace, caller.audit(), &id, &session_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every sign-in session of a user at once (seed 004's force logout).
#[utoipa::path(
    post, path = "/v1/users/{id}/force-logout", tag = "sessions",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    responses((status = 200, body = ForceLogout), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn force_logout(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ForceLogout>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let ended = state
        .roster
        .force_logout(&caller.workspace, caller.audit(), &id)
        .await?;
    Ok(Json(ForceLogout { ended }))
}

/// Set a user's password (checked against the workspace's policy); its sessions end.
#[utoipa::path(
    put, path = "/v1/users/{id}/password", tag = "sessions",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    request_body = PasswordBody,
    responses((status = 204), (status = 400, body = ErrorEnvelope, description = "password_too_short, password_too_long, password_too_common, field_required"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let password = body.password.unwrap_or_default();
    state
        .roster
        .set_password(&caller.workspace, caller.audit(), &id, &password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke a user's personal token (seed 003); `has_authentication_token` becomes false.
#[utoipa::path(
    post, path = "/v1/users/{id}/token/revoke", tag = "sessions",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    responses((status = 200, body = UserBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserBody>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let user = state
        .roster
        .revoke_personal_token(&caller.workspace, caller.audit(), &id)
        .await?;
    Ok(Json(user.into()))
}

/// Password and session rules; unset fields take the defaults.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSettingsBody {
    /// 8 to 128 (default 8).
    pub min_password_length: Option<u32>,
    /// Refuse the 10,000 most common passwords (default false).
    pub check_common_passwords: Option<bool>,
    /// A session ends after this long unused: 5 to 129,600 (default 10,080, 7 days).
    pub session_idle_minutes: Option<u32>,
    /// And after this long in any case: 1 to 8,760 (default 720, 30 days).
    pub session_lifetime_hours: Option<u32>,
    /// Past a user's `sessions_limit`: `evict_oldest` (default) or `refuse`.
    #[schema(value_type = Option<String>)]
    pub session_limit_policy: Option<roster_core::session::LimitPolicy>,
}

fn settings_body(s: &AuthSettings) -> AuthSettingsBody {
    AuthSettingsBody {
        min_password_length: Some(s.password_policy().min_chars as u32),
        check_common_passwords: Some(s.password_policy().refuse_common),
        session_idle_minutes: Some(s.idle().num_minutes() as u32),
        session_lifetime_hours: Some(s.lifetime().num_hours() as u32),
        session_limit_policy: Some(s.limit_policy()),
    }
}

/// The workspace's password and session rules, defaults filled in.
#[utoipa::path(
    get, path = "/v1/auth-settings", tag = "sessions",
    responses((status = 200, body = AuthSettingsBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn auth_settings(caller: Caller) -> Result<Json<AuthSettingsBody>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(settings_body(&caller.workspace.auth)))
}

/// Replace the workspace's password and session rules (absent fields: the defaults).
#[utoipa::path(
    put, path = "/v1/auth-settings", tag = "sessions", request_body = AuthSettingsBody,
    responses((status = 200, body = AuthSettingsBody), (status = 400, body = ErrorEnvelope, description = "invalid_auth_settings"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn set_auth_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<AuthSettingsBody>,
) -> Result<Json<AuthSettingsBody>, ApiError> {
    caller.require(Scope::Admin)?;
    let workspace = state
        .roster
        .set_auth_settings(
            &caller.workspace,
            caller.audit(),
            AuthSettings {
                min_password_length: body.min_password_length,
                check_common_passwords: body.check_common_passwords,
                session_idle_minutes: body.session_idle_minutes,
                session_lifetime_hours: body.session_lifetime_hours,
                session_limit_policy: body.session_limit_policy,
            },
        )
        .await?;
    Ok(Json(settings_body(&workspace.auth)))
}

//! `/v1/users/{id}/…` lifecycle steps (deactivate, reactivate, restore, invitation), the
//! public invitation acceptance, and the email lookups.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use roster_core::{Acceptance, Code, Error, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, RequestOrigin};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{JsonBody, OptionalJsonBody, QueryParams};
use crate::native::users::UserBody;
use crate::AppState;

/// Deactivate a user: it can no longer sign in, and a pending invitation dies. Deactivating
/// an inactive user changes nothing.
#[utoipa::path(
    post, path = "/v1/users/{id}/deactivate", tag = "users",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    responses(
        (status = 200, body = UserBody),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "No such user (or it is deleted)"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserBody>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let user = state
        .roster
        .deactivate_user(&caller.workspace, caller.audit(), &id)
        .await?;
    Ok(Json(user.into()))
}

/// Reactivate a deactivated user. An active user is left as it is; an invited one is
/// refused (it becomes active by accepting its invitation).
#[utoipa::path(
    post, path = "/v1/users/{id}/reactivate", tag = "users",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    responses(
        (status = 200, body = UserBody),
        (status = 400, body = ErrorEnvelope, description = "The user is invited"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "No such user (or it is deleted)"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserBody>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let user = state
        .roster
        .reactivate_user(&caller.workspace, caller.audit(), &id)
        .await?;
    Ok(Json(user.into()))
}

/// Bring a soft-deleted user back as it was.
#[utoipa::path(
    post, path = "/v1/users/{id}/restore", tag = "users",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    responses(
        (status = 200, body = UserBody),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "No such user"),
        (status = 409, body = ErrorEnvelope, description = "user_not_deleted, or email_taken: another user has the email now"),
        (status = 410, body = ErrorEnvelope, description = "The user was purged"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserBody>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let user = state
        .roster
        .restore_user(&caller.workspace, caller.audit(), &id)
        .await?;
    Ok(Json(user.into()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    /// A personal note for the mail.
    pub message: Option<String>,
}

/// Send an invited user a new invitation: a new token, the old one dead. The body (a
/// `message`) is optional.
#[utoipa::path(
    post, path = "/v1/users/{id}/invitation", tag = "users",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    request_body(content = InvitationRequest, description = "Optional"),
    responses(
        (status = 202, body = UserBody, description = "Queued in the outbox"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "No such user (or it is deleted)"),
        (status = 409, body = ErrorEnvelope, description = "user_not_invited: the user is active or inactive"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn resend_invitation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<InvitationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let user = state
        .roster
        .resend_invitation(
            &caller.workspace,
            caller.audit(),
            &id,
            body.message.as_deref(),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(UserBody::from(user))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The token from the invitation mail, `inv_…`.
    pub token: Option<String>,
    /// The user's name, if it should change.
    pub name: Option<String>,
    /// The user's first password (8 characters to 1,024 bytes), stored as argon2id.
    pub password: Option<String>,
}

/// Accept an invitation: the user becomes active. Needs no credential: the token is one.
#[utoipa::path(
    post, path = "/v1/invitations/accept", tag = "users",
    request_body = AcceptInvitation,
    responses(
        (status = 200, body = UserBody),
        (status = 400, body = ErrorEnvelope, description = "Missing token, bad name or password"),
        (status = 404, body = ErrorEnvelope, description = "invitation_not_found"),
        (status = 410, body = ErrorEnvelope, description = "invitation_expired, invitation_used or invitation_revoked"),
    )
)]
pub async fn accept(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    JsonBody(body): JsonBody<AcceptInvitation>,
) -> Result<Json<UserBody>, ApiError> {
    let user = state
        .roster
        .accept_invitation(
            &origin,
            Acceptance {
                token: body.token,
                name: body.name,
                password: body.password,
            },
        )
        .await?;
    Ok(Json(user.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailParams {
    /// The address to look for (case-insensitive).
    pub email: Option<String>,
}

/// The `email` parameter: required, and an email address (400 `invalid_email` if not).
fn required_email(params: EmailParams) -> Result<String, Error> {
    let email = params
        .email
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| Error::field(Code::FieldRequired, "email", "email is required."))?;
    roster_core::user::validate_email(&email)
}

/// The live user with this email (seed 003's get_user by email).
#[utoipa::path(
    get, path = "/v1/users/lookup", tag = "users",
    params(EmailParams),
    responses(
        (status = 200, body = UserBody),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "No live user has this email"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<EmailParams>,
) -> Result<Json<UserBody>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let email = required_email(params)?;
    let user = state
        .roster
        .find_user_by_email(&caller.workspace, &email)
        .await?
        .ok_or_else(Error::user_not_found)?;
    Ok(Json(user.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailTaken {
    pub email: String,
    /// Whether a live user of the workspace has this email.
    pub taken: bool,
}

/// Whether an email is taken in the workspace (seed 003's check_holistics_user).
#[utoipa::path(
    get, path = "/v1/users/email-taken", tag = "users",
    params(EmailParams),
    responses(
        (status = 200, body = EmailTaken),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn email_taken(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<EmailParams>,
) -> Result<Json<EmailTaken>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let email = required_email(params)?;
    let taken = state
        .roster
        .find_user_by_email(&caller.workspace, &email)
        .await?
        .is_some();
    Ok(Json(EmailTaken {
        email: email.trim().to_owned(),
        taken,
    }))
}

//! The caller's workspace configuration: its role set (`/v1/roles`) and its invitation
//! settings (`/v1/invitation-settings`). Reading the roles needs `users:read`; every change
//! needs `admin` and is audited as `config.update`.

use axum::extract::State;
use axum::Json;
use roster_core::{InvitationSettings, Scope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::JsonBody;
use crate::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// The role names users of this workspace may have, in order.
    #[schema(example = json!(["admin", "editor", "viewer"]))]
    pub roles: Vec<String>,
}

/// The workspace's roles.
#[utoipa::path(
    get, path = "/v1/roles", tag = "workspaces",
    responses((status = 200, body = Roles), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn roles(caller: Caller) -> Result<Json<Roles>, ApiError> {
    caller.require(Scope::UsersRead)?;
    Ok(Json(Roles {
        roles: caller.workspace.roles.clone(),
    }))
}

/// Replace the workspace's roles. A role some user has (deleted users included) cannot be
/// removed: 409 `role_in_use`.
#[utoipa::path(
    put, path = "/v1/roles", tag = "workspaces", request_body = Roles,
    responses((status = 200, body = Roles), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope, description = "role_in_use")),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn set_roles(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Roles>,
) -> Result<Json<Roles>, ApiError> {
    caller.require(Scope::Admin)?;
    let workspace = state
        .roster
        .set_roles(&caller.workspace, caller.audit(), &body.roles)
        .await?;
    Ok(Json(Roles {
        roles: workspace.roles,
    }))
}

/// Invitation settings: unset fields take Roster's defaults.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationSettingsBody {
    /// How long an invitation lasts, 1 to 2,160 hours (default 168, 7 days).
    pub expiry_hours: Option<u32>,
    /// The mail's subject template (one line, at most 200 characters).
    pub subject: Option<String>,
    /// The mail's text template (at most 10,000 characters; must contain `{{token}}`).
    /// Placeholders: `{{name}}`, `{{email}}`, `{{workspace}}`, `{{token}}`, `{{message}}`,
    /// `{{expires_at}}`.
    pub text: Option<String>,
}

/// What is in effect: the workspace's settings with the defaults filled in.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveInvitationSettings {
    pub expiry_hours: u32,
    pub subject: String,
    pub text: String,
    /// The settings as set (null fields use the defaults above).
    pub custom: InvitationSettingsBody,
}

fn effective(settings: InvitationSettings) -> EffectiveInvitationSettings {
    EffectiveInvitationSettings {
        expiry_hours: settings.expiry_hours(),
        subject: settings.subject_template().to_owned(),
        text: settings.text_template().to_owned(),
        custom: InvitationSettingsBody {
            expiry_hours: settings.expiry_hours,
            subject: settings.subject,
            text: settings.text,
        },
    }
}

/// The workspace's invitation settings.
#[utoipa::path(
    get, path = "/v1/invitation-settings", tag = "workspaces",
    responses((status = 200, body = EffectiveInvitationSettings), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn invitation_settings(
    caller: Caller,
) -> Result<Json<EffectiveInvitationSettings>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(effective(caller.workspace.invitations.clone())))
}

/// Replace the workspace's invitation settings (absent or null fields: the defaults).
#[utoipa::path(
    put, path = "/v1/invitation-settings", tag = "workspaces",
    request_body = InvitationSettingsBody,
    responses((status = 200, body = EffectiveInvitationSettings), (status = 400, body = ErrorEnvelope, description = "invalid_template or invalid_expiry"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn set_invitation_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<InvitationSettingsBody>,
) -> Result<Json<EffectiveInvitationSettings>, ApiError> {
    caller.require(Scope::Admin)?;
    let workspace = state
        .roster
        .set_invitation_settings(
            &caller.workspace,
            caller.audit(),
            InvitationSettings {
                expiry_hours: body.expiry_hours,
                subject: body.subject,
                text: body.text,
            },
        )
        .await?;
    Ok(Json(effective(workspace.invitations)))
}

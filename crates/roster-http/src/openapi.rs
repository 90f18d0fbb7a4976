//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `/openapi.json`. A copy is committed as `openapi.json` at the repository root; a test
//! fails when the two differ.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dialects::human_api_admin::tokens;
use crate::error::{ErrorBody, ErrorEnvelope};
use crate::native::{
    api_clients, api_keys, audit_export, audit_logs, groups, lifecycle, outbox, sessions, settings,
    users, users_transfer, workspaces,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "Roster's native admin API (seed 002). Authenticate with a secret key (`Authorization: Bearer sk_live_…`) or a client token from `POST /v1/admin/token`. Every authenticated response carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset.",
    ),
    paths(
        users::list, users::create, users::get, users::update, users::delete,
        users_transfer::import, users_transfer::export,
        lifecycle::deactivate, lifecycle::reactivate, lifecycle::restore,
        lifecycle::resend_invitation, lifecycle::accept, lifecycle::lookup, lifecycle::email_taken,
        groups::list, groups::create, groups::get, groups::update, groups::delete,
        groups::members, groups::put_member, groups::remove_member, groups::of_user,
        outbox::list,
        sessions::sign_in, sessions::current, sessions::sign_out, sessions::create_token,
        sessions::list, sessions::end, sessions::force_logout, sessions::set_password,
        sessions::revoke_token, sessions::auth_settings, sessions::set_auth_settings,
        settings::roles, settings::set_roles, settings::invitation_settings, settings::set_invitation_settings,
        api_keys::list, api_keys::create, api_keys::revoke,
        api_clients::list, api_clients::create, api_clients::get, api_clients::update, api_clients::revoke,
        tokens::issue, tokens::jwks,
        workspaces::list, workspaces::create, workspaces::update,
        audit_logs::list, audit_export::export,
    ),
    components(schemas(
        users::UserBody, users::UserList, users::ListMeta, users::CreateUser, users::UpdateUser,
        lifecycle::InvitationRequest, lifecycle::AcceptInvitation, lifecycle::EmailTaken,
        groups::GroupBody, groups::GroupList, groups::MemberBody, groups::MemberList,
        groups::UserGroupBody, groups::UserGroupList, groups::CreateGroup, groups::UpdateGroup, groups::PutMember,
        outbox::MailBody, outbox::MailList,
        sessions::SignInBody, sessions::SessionBody, sessions::CreatedSession, sessions::WorkspaceRef,
        sessions::CurrentSession, sessions::SessionList, sessions::ForceLogout, sessions::PasswordBody,
        sessions::AuthSettingsBody,
        settings::Roles, settings::InvitationSettingsBody, settings::EffectiveInvitationSettings,
        users_transfer::ImportResponse, users_transfer::ImportReportBody, users_transfer::RowErrorBody,
        api_keys::ApiKeyBody, api_keys::CreatedApiKey, api_keys::ApiKeyList, api_keys::CreateApiKey,
        api_clients::ApiClientBody, api_clients::CreatedApiClient, api_clients::ApiClientList,
        api_clients::CreateApiClient, api_clients::UpdateApiClient,
        tokens::TokenRequestBody, tokens::TokenResponse,
        workspaces::WorkspaceBody, workspaces::WorkspaceList, workspaces::CreateWorkspace, workspaces::UpdateWorkspace,
        audit_logs::AuditEventBody, audit_logs::AuditEventList, audit_logs::Actor,
        ErrorEnvelope, ErrorBody
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "users", description = "Users of the caller's workspace"),
        (name = "groups", description = "Groups of users; memberships may expire"),
        (name = "sessions", description = "Sign-in, sessions, passwords and personal tokens"),
        (name = "mail", description = "The outbox: mail queued by changes, and the built-in mail catcher"),
        (name = "credentials", description = "Secret keys, API clients and client tokens"),
        (name = "workspaces", description = "Workspaces (operator workspace admins only)"),
        (name = "audit", description = "The tamper-evident audit log"),
    ),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The document as JSON: what the annotations generate, with the rules of
/// [`crate::openapi_rules`] applied.
pub fn document() -> Result<serde_json::Value, String> {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(doc).map_err(|e| e.to_string())?;
    crate::openapi_rules::apply(&mut doc)?;
    Ok(doc)
}

/// The document is built once; a rule that no longer fits is a bug the OpenAPI test
/// catches, and here a 500.
static DOCUMENT: std::sync::LazyLock<Result<serde_json::Value, String>> =
    std::sync::LazyLock::new(document);

pub async fn serve() -> Result<Json<serde_json::Value>, crate::ApiError> {
    match &*DOCUMENT {
        Ok(doc) => Ok(Json(doc.clone())),
        Err(err) => {
            tracing::error!(error = %err, "the OpenAPI document does not build");
            Err(crate::error::HttpCode::InternalError.into())
        }
    }
}

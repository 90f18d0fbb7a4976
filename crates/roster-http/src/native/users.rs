//! `/v1/users`: list, create, read, update and soft-delete users.

use crate::json_reply::{JsonReply, BYTES_PER_USER};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use roster_core::{NewUser, Page, Scope, UserFilter, UserPatch};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{JsonBody, QueryParams};
use crate::AppState;

/// A user as the native API shows it (and as an NDJSON export writes it).
pub use roster_core::transfer::UserRecord as UserBody;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub data: Vec<UserBody>,
    pub meta: ListMeta,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListMeta {
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

impl ListMeta {
    /// The meta of a list that is never paginated.
    pub fn single_page() -> Self {
        Self {
            next_cursor: None,
            has_more: false,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Number of records (default 20, max 100).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// One of the workspace's roles (default `admin`, `editor`, `viewer`).
    pub role: Option<String>,
    /// `invited`, `active` or `inactive`.
    pub status: Option<String>,
    /// Case-insensitive substring of name or email.
    pub search: Option<String>,
    /// Alias of `search`.
    pub q: Option<String>,
    /// Exact email address (case-insensitive).
    pub email: Option<String>,
    /// A group id: only the group's current members.
    pub group: Option<String>,
    /// true: soft-deleted users too.
    pub include_deleted: Option<bool>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadParams {
    /// true: a soft-deleted user is shown too.
    pub include_deleted: Option<bool>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// true: erase the user for good (right to erasure) instead of soft-deleting it.
    pub purge: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Full name. Required.
    #[schema(example = "Alex Morgan")]
    pub name: Option<String>,
    /// A valid email address, unique in the workspace. Required.
    #[schema(example = "alex@company.io")]
    pub email: Option<String>,
    /// One of the workspace's roles. Required.
    #[schema(example = "editor")]
    pub role: Option<String>,
    /// Default true: the user starts `invited`; false starts it `active`.
    pub send_invitation: Option<bool>,
    /// Your own id for the user, unique in the workspace.
    pub external_id: Option<String>,
    /// How the user signs in to the organisation's identity provider (SCIM's `userName`);
    /// unique per workspace, case-insensitively. Defaults to the email.
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// A JSON object of at most 16 KiB.
    #[schema(value_type = Object)]
    pub attributes: Option<Value>,
    /// A personal note included in the invitation mail.
    pub message: Option<String>,
    /// A first password (8 characters to 1,024 bytes by default), stored as argon2id.
    pub password: Option<String>,
    /// At most this many sessions at once: 1 to 999,999, or null for no limit.
    pub sessions_limit: Option<i64>,
    /// Whether the user may create a personal token (default false).
    pub allow_authentication_token: Option<bool>,
}

/// A partial update: absent fields are left alone; `null` clears the optional ones;
/// `attributes` is merged (RFC 7396 JSON Merge Patch; a null value removes a key).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub role: Option<Option<String>>,
    /// `active` or `inactive` (an `invited` user may be activated).
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub status: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    /// Unique per workspace, case-insensitively; it cannot be cleared.
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present_value")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
    /// With a role change: also take the user out of every group.
    pub remove_groups: Option<bool>,
    /// 1 to 999,999; null removes the limit.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<i64>)]
    pub sessions_limit: Option<Option<i64>>,
    /// Turning it off revokes the user's personal token.
    pub allow_authentication_token: Option<bool>,
}

/// `attributes` present (even null) is `Some`: null clears them, an object is merged.
fn present_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// List users, newest first.
#[utoipa::path(
    get, path = "/v1/users", tag = "users",
    params(ListParams),
    responses(
        (status = 200, body = UserList),
        (status = 400, body = ErrorEnvelope, description = "Invalid parameters or cursor"),
        (status = 401, body = ErrorEnvelope, description = "Invalid or missing API key"),
        (status = 403, body = ErrorEnvelope, description = "The credential lacks the scope"),
        (status = 429, body = ErrorEnvelope, description = "Rate limit exceeded"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<JsonReply<UserList>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let filter = UserFilter {
        role: params.role,
        status: params.status,
        search: params.search.or(params.q),
        email: params.email,
        group: params.group,
        include_deleted: params.include_deleted.unwrap_or(false),
    };
    let page = Page {
        limit: params.limit,
        cursor: params.cursor,
    };
    let page = state
        .roster
        .list_users(&caller.workspace, &filter, &page)
        .await?;
    let next_cursor = page.next_cursor.map(|c| c.encode());
    let capacity = 256 + BYTES_PER_USER * page.users.len();
    Ok(JsonReply(
        UserList {
            data: page.users.into_iter().map(UserBody::from).collect(),
            meta: ListMeta {
                has_more: next_cursor.is_some(),
                next_cursor,
            },
        },
        capacity,
    ))
}

/// Create a user. It starts `invited` unless `send_invitation` is false.
#[utoipa::path(
    post, path = "/v1/users", tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, body = UserBody),
        (status = 400, body = ErrorEnvelope, description = "Invalid input"),
        (status = 401, body = ErrorEnvelope, description = "Invalid or missing API key"),
        (status = 403, body = ErrorEnvelope, description = "The credential lacks the scope"),
        (status = 429, body = ErrorEnvelope, description = "Rate limit exceeded"),
        (status = 403, body = ErrorEnvelope, description = "external_id belonged to a deleted user"),
        (status = 409, body = ErrorEnvelope, description = "Email or external_id taken"),
        (status = 413, body = ErrorEnvelope, description = "Body too large"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let input = NewUser {
        name: body.name,
        email: body.email,
        role: body.role,
        send_invitation: body.send_invitation,
        external_id: body.external_id,
        user_name: body.user_name,
        given_name: body.given_name,
        family_name: body.family_name,
        attributes: body.attributes,
        message: body.message,
        password: body.password,
        sessions_limit: body.sessions_limit,
        allow_authentication_token: body.allow_authentication_token,
        groups: Vec::new(),
        active: None,
        email_optional: false,
    };
    let user = state
        .roster
        .create_user(&caller.workspace, caller.audit(), input)
        .await?;
    Ok((
        StatusCode::CREATED,
        JsonReply(UserBody::from(user), BYTES_PER_USER),
    ))
}

/// Read one user (a soft-deleted one only with `include_deleted=true`).
#[utoipa::path(
    get, path = "/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user's id, usr_…"), ReadParams),
    responses(
        (status = 200, body = UserBody),
        (status = 401, body = ErrorEnvelope, description = "Invalid or missing API key"),
        (status = 403, body = ErrorEnvelope, description = "The credential lacks the scope"),
        (status = 429, body = ErrorEnvelope, description = "Rate limit exceeded"),
        (status = 404, body = ErrorEnvelope, description = "No such user"),
        (status = 410, body = ErrorEnvelope, description = "The user was purged"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<ReadParams>,
) -> Result<JsonReply<UserBody>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let user = if params.include_deleted.unwrap_or(false) {
        state
            .roster
            .get_user_any_state(&caller.workspace, &id)
            .await?
    } else {
        state.roster.get_user(&caller.workspace, &id).await?
    };
    Ok(JsonReply(user.into(), BYTES_PER_USER))
}

/// Update some of a user's fields.
#[utoipa::path(
    patch, path = "/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    request_body = UpdateUser,
    responses(
        (status = 200, body = UserBody),
        (status = 400, body = ErrorEnvelope, description = "Invalid input"),
        (status = 401, body = ErrorEnvelope, description = "Invalid or missing API key"),
        (status = 403, body = ErrorEnvelope, description = "The credential lacks the scope"),
        (status = 429, body = ErrorEnvelope, description = "Rate limit exceeded"),
        (status = 404, body = ErrorEnvelope, description = "No such user"),
        (status = 409, body = ErrorEnvelope, description = "Email or external_id taken"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<JsonReply<UserBody>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let patch = UserPatch {
        name: body.name,
        email: body.email,
        role: body.role,
        status: body.status,
        external_id: body.external_id,
        user_name: body.user_name,
        given_name: body.given_name,
        family_name: body.family_name,
        attributes: body.attributes,
        remove_groups: body.remove_groups.unwrap_or(false),
        sessions_limit: body.sessions_limit,
        allow_authentication_token: body.allow_authentication_token,
        // Passwords have their own route (PUT /v1/users/{id}/password), memberships theirs.
        password: None,
        join_groups: Vec::new(),
        if_version: None,
        email_optional: false,
    };
    let user = state
        .roster
        .update_user(&caller.workspace, caller.audit(), &id, &patch)
        .await?;
    Ok(JsonReply(user.into(), BYTES_PER_USER))
}

/// Soft-delete a user: it leaves lists and reads; its external id stays reserved. With
/// `purge=true`, erase it for good instead (deleted or not): only an audit tombstone remains.
#[utoipa::path(
    delete, path = "/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user's id, usr_…"), DeleteParams),
    responses(
        (status = 204, description = "Deleted (or purged)"),
        (status = 410, body = ErrorEnvelope, description = "The user was purged already"),
        (status = 401, body = ErrorEnvelope, description = "Invalid or missing API key"),
        (status = 403, body = ErrorEnvelope, description = "The credential lacks the scope"),
        (status = 429, body = ErrorEnvelope, description = "Rate limit exceeded"),
        (status = 404, body = ErrorEnvelope, description = "No such user"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<DeleteParams>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::UsersWrite)?;
    if params.purge.unwrap_or(false) {
        state
            .roster
            .purge_user(&caller.workspace, caller.audit(), &id)
            .await?;
    } else {
        state
            .roster
            .delete_user(&caller.workspace, caller.audit(), &id)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

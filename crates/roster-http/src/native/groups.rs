//! `/v1/groups`: groups of the caller's workspace and their members; a membership may
//! carry an expiry after which it no longer counts. Reading needs `users:read`, changing
//! `users:write`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::group::{Group, Membership};
use roster_core::{GroupInput, Page, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{JsonBody, OptionalJsonBody, QueryParams};
use crate::native::users::{ListMeta, UserBody};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupBody {
    #[schema(example = "grp_0j6ro9x9dihzpb199gjc")]
    pub id: String,
    #[schema(example = "Finance")]
    pub name: String,
    pub description: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Group> for GroupBody {
    fn from(g: Group) -> Self {
        Self {
            id: g.id,
            name: g.name,
            description: g.description,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub data: Vec<GroupBody>,
    pub meta: ListMeta,
}

/// A membership as a group's member list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberBody {
    pub user: UserBody,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: DateTime<Utc>,
    /// After this the membership no longer counts; null for never.
    #[serde(serialize_with = "crate::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub data: Vec<MemberBody>,
    pub meta: ListMeta,
}

/// A group as a user's group list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserGroupBody {
    pub group: GroupBody,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserGroupList {
    pub data: Vec<UserGroupBody>,
    pub meta: ListMeta,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// 1 to 128 characters, unique in the workspace (case-insensitively). Required.
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    pub name: Option<String>,
    /// null clears it.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutMember {
    /// RFC 3339; must lie in the future. Absent or null: the membership does not expire.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Number of records (default 20, max 100).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    fn page(self) -> Page {
        Page {
            limit: self.limit,
            cursor: self.cursor,
        }
    }
}

fn meta(next_cursor: Option<roster_core::Cursor>) -> ListMeta {
    let next_cursor = next_cursor.map(|c| c.encode());
    ListMeta {
        has_more: next_cursor.is_some(),
        next_cursor,
    }
}

fn member(user: roster_core::User, membership: Membership) -> MemberBody {
    MemberBody {
        user: user.into(),
        added_at: membership.added_at,
        expires_at: membership.expires_at,
    }
}

/// List the workspace's groups, newest first.
#[utoipa::path(
    get, path = "/v1/groups", tag = "groups", params(PageParams),
    responses((status = 200, body = GroupList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<GroupList>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let page = state
        .roster
        .list_groups(&caller.workspace, &params.page())
        .await?;
    Ok(Json(GroupList {
        data: page.groups.into_iter().map(GroupBody::from).collect(),
        meta: meta(page.next_cursor),
    }))
}

/// Create a group.
#[utoipa::path(
    post, path = "/v1/groups", tag = "groups", request_body = CreateGroup,
    responses((status = 201, body = GroupBody), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope, description = "group_name_taken")),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateGroup>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let group = state
        .roster
        .create_group(
            &caller.workspace,
            caller.audit(),
            GroupInput {
                name: body.name,
                description: Some(body.description),
                external_id: None,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(GroupBody::from(group))))
}

/// Read a group.
#[utoipa::path(
    get, path = "/v1/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "The group's id, grp_…")),
    responses((status = 200, body = GroupBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<GroupBody>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let group = state.roster.get_group(&caller.workspace, &id).await?;
    Ok(Json(group.into()))
}

/// Rename a group or change its description.
#[utoipa::path(
    patch, path = "/v1/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "The group's id, grp_…")),
    request_body = UpdateGroup,
    responses((status = 200, body = GroupBody), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateGroup>,
) -> Result<Json<GroupBody>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let group = state
        .roster
        .update_group(
            &caller.workspace,
            caller.audit(),
            &id,
            GroupInput {
                name: body.name,
                description: body.description,
                external_id: None,
            },
        )
        .await?;
    Ok(Json(group.into()))
}

/// Delete a group and its memberships.
#[utoipa::path(
    delete, path = "/v1/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "The group's id, grp_…")),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .delete_group(&caller.workspace, caller.audit(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The group's current members (expired memberships left out), newest user first.
#[utoipa::path(
    get, path = "/v1/groups/{id}/members", tag = "groups",
    params(("id" = String, Path, description = "The group's id, grp_…"), PageParams),
    responses((status = 200, body = MemberList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<MemberList>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let page = state
        .roster
        .list_members(&caller.workspace, &id, &params.page())
        .await?;
    Ok(Json(MemberList {
        data: page
            .members
            .into_iter()
            .map(|(u, m)| member(u, m))
            .collect(),
        meta: meta(page.next_cursor),
    }))
}

/// Put a user in the group, or change its membership's expiry. The body is optional.
#[utoipa::path(
    put, path = "/v1/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = String, Path, description = "The group's id, grp_…"), ("user_id" = String, Path, description = "The user's id, usr_…")),
    request_body(content = PutMember, description = "Optional"),
    responses((status = 200, body = MemberBody), (status = 400, body = ErrorEnvelope, description = "invalid_expiry: expiry in the past"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope, description = "group_not_found or user_not_found")),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn put_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<PutMember>,
) -> Result<Json<MemberBody>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let (user, membership) = state
        .roster
        .add_member(
            &caller.workspace,
            caller.audit(),
            &id,
            &user_id,
            body.expires_at,
        )
        .await?;
    Ok(Json(member(user, membership)))
}

/// Take a user out of the group.
#[utoipa::path(
    delete, path = "/v1/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = String, Path, description = "The group's id, grp_…"), ("user_id" = String, Path, description = "The user's id, usr_…")),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope, description = "group_not_found, user_not_found or not_a_member")),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .remove_member(&caller.workspace, caller.audit(), &id, &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The groups a user currently belongs to, by name.
#[utoipa::path(
    get, path = "/v1/users/{id}/groups", tag = "groups",
    params(("id" = String, Path, description = "The user's id, usr_…")),
    responses((status = 200, body = UserGroupList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn of_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserGroupList>, ApiError> {
    caller.require(Scope::UsersRead)?;
    let groups = state.roster.user_groups(&caller.workspace, &id).await?;
    Ok(Json(UserGroupList {
        data: groups
            .into_iter()
            .map(|(group, m)| UserGroupBody {
                group: group.into(),
                added_at: m.added_at,
                expires_at: m.expires_at,
            })
            .collect(),
        meta: ListMeta::single_page(),
    }))
}

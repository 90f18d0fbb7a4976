//! `/scim/v2/Users`: each verb one core call (a read first where SCIM's semantics need the
//! current resource: PUT and PATCH compute the fields that change, and write only those).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_core::group::{Group, Membership};
use roster_core::query::{QueryRequest, SortField};
use roster_core::{User, Workspace};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use serde_json::Value;

use super::list::{self, ListParams};
use super::user_json::UserJson;
use super::user_resource::{self, USER_ATTRIBUTES, USER_SCHEMA};
use super::{
    base_url, filter, if_match, patch, ScimBody, ScimCaller, ScimError, ScimJson, ScimType,
};
use crate::AppState;

/// Users, as lists and searches make pages of them.
pub struct Users;

impl list::Listed for Users {
    async fn page(
        state: &AppState,
        workspace: &Workspace,
        params: ListParams,
        base: &str,
    ) -> Result<ScimJson, ScimError> {
        let page = run_list(state, workspace, params, base).await?;
        // About 600 bytes a user: the body is written once, without growing.
        super::scim_page_json(&page.response(), 1024 + 768 * page.users.len())
    }
}

fn sort_field(sort_by: Option<&str>) -> Result<SortField, ScimError> {
    let Some(sort_by) = sort_by else {
        return Ok(SortField::Key);
    };
    let name = sort_by
        .strip_prefix(USER_SCHEMA)
        .and_then(|s| s.strip_prefix(':'))
        .unwrap_or(sort_by)
        .to_ascii_lowercase();
    match name.as_str() {
        "id" => Ok(SortField::Key),
        "username" => Ok(SortField::UserName),
        "meta.created" => Ok(SortField::CreatedAt),
        "meta.lastmodified" => Ok(SortField::UpdatedAt),
        _ => Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("Users sort by userName, meta.created or meta.lastModified, not '{sort_by}'."),
        )),
    }
}

/// One page of users, with what their resources are written from.
pub(super) struct UserPage<'a> {
    users: Vec<User>,
    groups: Vec<Vec<(Group, Membership)>>,
    params: ListParams,
    base: &'a str,
    total: u64,
    next_cursor: Option<String>,
}

impl UserPage<'_> {
    fn start_index(&self) -> Option<u64> {
        let params = &self.params;
        params
            .cursor
            .is_none()
            .then(|| params.start_index.unwrap_or(1))
    }

    /// The page as a `ListResponse`, its users written one after the other.
    fn response(&self) -> list::ListResponse<Resources<'_>> {
        list::response_of(
            Resources(self),
            self.users.len(),
            self.total,
            self.start_index(),
            self.next_cursor.clone(),
        )
    }

    /// The page with each resource written on its own (a search of every resource type
    /// merges them with groups').
    pub(super) fn into_page(self) -> Result<list::Page, ScimError> {
        let mut items = Vec::with_capacity(self.users.len());
        for at in 0..self.users.len() {
            items.push(list::raw(&Resource(&self, at))?);
        }
        Ok(list::response(
            items,
            self.total,
            self.start_index(),
            self.next_cursor,
        ))
    }

    fn projected(&self) -> bool {
        !self.params.attributes.is_empty() || !self.params.excluded.is_empty()
    }
}

/// The page's resources, in order.
struct Resources<'p>(&'p UserPage<'p>);

impl Serialize for Resources<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.users.len()))?;
        for at in 0..self.0.users.len() {
            seq.serialize_element(&Resource(self.0, at))?;
        }
        seq.end()
    }
}

/// The page's resource at a position: written straight from the user unless the request
/// projects attributes (a projection works on the resource as a `Value`).
struct Resource<'p>(&'p UserPage<'p>, usize);

impl Serialize for Resource<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Resource(page, at) = *self;
        let (Some(user), Some(groups)) = (page.users.get(at), page.groups.get(at)) else {
            return serializer.serialize_none();
        };
        let json = UserJson {
            user,
            groups,
            base: page.base,
        };
        match page.projected() {
            false => json.serialize(serializer),
            true => list::project(
                user_resource::render_json(json),
                &page.params.attributes,
                &page.params.excluded,
            )
            .serialize(serializer),
        }
    }
}

pub(super) async fn run_list<'a>(
    state: &AppState,
    workspace: &Workspace,
    params: ListParams,
    base: &'a str,
) -> Result<UserPage<'a>, ScimError> {
    let condition = match &params.filter {
        Some(text) => Some(filter::user_condition(&filter::parse(text)?)?),
        None => None,
    };
    let request = QueryRequest {
        condition,
        sort: sort_field(params.sort_by.as_deref())?,
        descending: params.descending,
        start_index: params.start_index,
        cursor: params.cursor.clone(),
        limit: params.page_size(),
    };
    let page = state.roster.query_users(workspace, request).await?;
    let groups = state.roster.groups_of_users(workspace, &page.users).await?;
    Ok(UserPage {
        users: page.users,
        groups,
        params,
        base,
        total: page.total,
        next_cursor: page.next_cursor,
    })
}

/// The user's resource, with its groups.
async fn resource(
    state: &AppState,
    workspace: &Workspace,
    user: &User,
    base: &str,
) -> Result<Value, ScimError> {
    let groups = state
        .roster
        .groups_of_users(workspace, std::slice::from_ref(user))
        .await?
        .pop()
        .unwrap_or_default();
    Ok(user_resource::render(user, &groups, base))
}

/// Read a User body (any attribute-name case).
fn input(body: Value) -> Result<user_resource::UserInput, ScimError> {
    let body = user_resource::canonicalize(body, USER_ATTRIBUTES);
    super::check_schemas(&body, USER_SCHEMA)?;
    user_resource::read(&body)
}

pub async fn create(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let new_user = input(body)?.into_new_user(&caller.workspace);
    let user = state
        .roster
        .create_user(&caller.workspace, caller.audit(), new_user)
        .await?;
    let body = user_resource::render(&user, &[], &base_url(&headers));
    Ok(super::resource(StatusCode::CREATED, body))
}

pub async fn get(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = ListParams::from_query(query.as_deref())?;
    let user = state.roster.get_user(&caller.workspace, &id).await?;
    if let Some(early) = super::conditional_get(&headers, user.version)? {
        return Ok(early);
    }
    let body = resource(&state, &caller.workspace, &user, &base_url(&headers)).await?;
    let body = list::project(body, &params.attributes, &params.excluded);
    Ok(super::resource(StatusCode::OK, body))
}

pub async fn replace(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let if_version = if_match(&headers)?;
    let wanted = input(body)?;
    let user = state.roster.get_user(&caller.workspace, &id).await?;
    let changes = wanted.into_patch(&user, if_version);
    let user = state
        .roster
        .update_user(&caller.workspace, caller.audit(), &id, &changes)
        .await?;
    let body = resource(&state, &caller.workspace, &user, &base_url(&headers)).await?;
    Ok(super::resource(StatusCode::OK, body))
}

pub async fn patch(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let params = ListParams::from_query(query.as_deref())?;
    let if_version = if_match(&headers)?;
    let operations = patch::read(&body)?;
    let user = state.roster.get_user(&caller.workspace, &id).await?;
    let base = base_url(&headers);
    let mut patched = user_resource::render(&user, &[], &base);
    patch::apply(&mut patched, &operations)?;
    let wanted = user_resource::read(&user_resource::canonicalize(patched, USER_ATTRIBUTES))?;
    let changes = wanted.into_patch(&user, if_version);
    let user = state
        .roster
        .update_user(&caller.workspace, caller.audit(), &id, &changes)
        .await?;
    let body = resource(&state, &caller.workspace, &user, &base).await?;
    let body = list::project(body, &params.attributes, &params.excluded);
    Ok(super::resource(StatusCode::OK, body))
}

pub async fn delete(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let if_version = if_match(&headers)?;
    state
        .roster
        .delete_user_at_version(&caller.workspace, caller.audit(), &id, if_version)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

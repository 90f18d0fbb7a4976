//! `/scim/v2/Groups`: Roster's groups as SCIM Group resources (RFC 7643 §4.2).
//!
//! | SCIM | Roster |
//! | --- | --- |
//! | `id` | the group's id (`grp_…`) |
//! | `displayName` | `name` (unique per workspace, case-insensitively) |
//! | `members` | current memberships: `value` the user's id, `display` its name, `$ref`, `type` `User` |
//! | `meta.version` | the time of the group's last change (fields or members) |
//!
//! | `externalId` | `external_id`, kept as sent |
//!
//! A PATCH or PUT of any number of members is one core call and one transaction. Groups are
//! filtered in memory (a workspace has few).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_core::group::Group;
use roster_core::listing::{Page, MAX_LIMIT};
use roster_core::{group_version, Code, GroupInput, MemberChanges, User, Workspace};
use scim_v2::filter::PatchPath;
use serde_json::{json, Value};

use super::list::{self, ListParams};
use super::patch::{self, OpKind, Operation};
use super::user_resource::canonical;
use super::{base_url, etag, filter, if_match, ScimBody, ScimCaller, ScimError, ScimType};
use crate::time::rfc3339_micros;
use crate::AppState;

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const GROUP_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "meta",
    "displayName",
    "members",
];

/// The group as a SCIM Group resource (`members` when given). A member's `display` (its
/// name) and `type` are returned on request (`attributes=members.display`), as the schema
/// says, so a member reads back as it was written.
pub fn render(group: &Group, members: Option<&[User]>, base: &str, described: bool) -> Value {
    let mut body = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id,
        "displayName": group.name,
        "meta": {
            "resourceType": "Group",
            "created": rfc3339_micros(group.created_at),
            "lastModified": rfc3339_micros(group.updated_at),
            "location": format!("{base}/Groups/{}", group.id),
            "version": etag(group_version(group)),
        },
    });
    if let Some(external_id) = &group.external_id {
        body["externalId"] = json!(external_id);
    }
    if let Some(members) = members {
        body["members"] = members
            .iter()
            .map(|user| {
                let mut member = json!({
                    "value": user.id,
                    "$ref": format!("{base}/Users/{}", user.id),
                });
                if described {
                    member["display"] = json!(user.name);
                    member["type"] = json!("User");
                }
                member
            })
            .collect();
    }
    body
}

/// Whether a request asks for the members' `display` and `type` (returned on request).
fn wants_member_details(params: &ListParams) -> bool {
    params.attributes.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a.ends_with("members.display") || a.ends_with("members.type")
    })
}

/// Whether a request's projection leaves `members` out (reading them is then skipped).
fn wants_members(params: &ListParams) -> bool {
    let named = |list: &[String]| {
        list.iter()
            .any(|a| a.to_ascii_lowercase().contains("members"))
    };
    if !params.attributes.is_empty() {
        return named(&params.attributes);
    }
    !named(&params.excluded)
}

async fn members(
    state: &AppState,
    workspace: &Workspace,
    group: &Group,
) -> Result<Vec<User>, ScimError> {
    Ok(state.roster.group_members(workspace, group).await?)
}

/// Every group of the workspace, oldest first.
async fn all_groups(state: &AppState, workspace: &Workspace) -> Result<Vec<Group>, ScimError> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .roster
            .list_groups(
                workspace,
                &Page {
                    limit: Some(MAX_LIMIT),
                    cursor,
                },
            )
            .await?;
        all.extend(page.groups);
        match page.next_cursor {
            Some(next) => cursor = Some(next.encode()),
            None => {
                all.reverse();
                return Ok(all);
            }
        }
    }
}

/// Groups, as lists and searches make pages of them.
pub struct Groups;

impl list::Listed for Groups {
    async fn page(
        state: &AppState,
        workspace: &Workspace,
        params: ListParams,
        base: &str,
    ) -> Result<super::ScimJson, ScimError> {
        Ok(super::scim_json(
            &run_list(state, workspace, params, base).await?,
        ))
    }
}

pub(super) async fn run_list(
    state: &AppState,
    workspace: &Workspace,
    params: ListParams,
    base: &str,
) -> Result<list::Page, ScimError> {
    let filter = params.filter.as_deref().map(filter::parse).transpose()?;
    let needs_members = wants_members(&params)
        || params
            .filter
            .as_deref()
            .is_some_and(|f| f.to_ascii_lowercase().contains("members"));
    if let Some(sort_by) = &params.sort_by {
        if !sort_by.eq_ignore_ascii_case("displayName") && !sort_by.eq_ignore_ascii_case("id") {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "Groups sort by displayName.",
            ));
        }
    }
    let mut groups = all_groups(state, workspace).await?;
    if params
        .sort_by
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("displayName"))
    {
        groups.sort_by_key(Group::name_key);
    }
    if params.descending {
        groups.reverse();
    }
    let mut matched = Vec::new();
    for group in &groups {
        let members = match needs_members {
            true => Some(members(state, workspace, group).await?),
            false => None,
        };
        let resource = render(
            group,
            members.as_deref(),
            base,
            wants_member_details(&params),
        );
        if filter
            .as_ref()
            .is_none_or(|f| filter::matches(f, &resource))
        {
            matched.push(resource);
        }
    }
    // A cursor here is the next position, opaque to clients (RFC 9865 lets a server choose).
    let start = match &params.cursor {
        Some(cursor) if !cursor.is_empty() => cursor.parse::<u64>().map_err(|_| {
            ScimError::bad(
                ScimType::InvalidCursor,
                "This cursor is not one Roster issued.",
            )
        })?,
        _ => params.start_index.unwrap_or(1),
    };
    let total = matched.len() as u64;
    let skip = usize::try_from(start.saturating_sub(1)).unwrap_or(usize::MAX);
    let size = usize::try_from(params.page_size()).unwrap_or(usize::MAX);
    let page: Vec<_> = matched
        .into_iter()
        .skip(skip)
        .take(size)
        .map(|r| list::raw(&list::project(r, &params.attributes, &params.excluded)))
        .collect::<Result<_, _>>()?;
    let next = (params.cursor.is_some() && (skip + page.len()) < total as usize)
        .then(|| (start + page.len() as u64).to_string());
    let start_index = params.cursor.is_none().then_some(start);
    Ok(list::response(page, total, start_index, next))
}

/// A group body's fields and member ids.
fn read(body: Value) -> Result<(GroupInput, Vec<String>), ScimError> {
    let body = super::user_resource::canonicalize(body, GROUP_ATTRIBUTES);
    super::check_schemas(&body, GROUP_SCHEMA)?;
    let name = match body.get("displayName") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
        _ => {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "displayName is required.",
            ))
        }
    };
    let members = member_values(body.get("members"))?;
    let external_id = match body.get("externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "externalId is a string.",
            ))
        }
    };
    let input = GroupInput {
        name: Some(name),
        description: None,
        external_id: Some(external_id),
    };
    Ok((input, members))
}

/// The `value`s of a `members` array.
fn member_values(members: Option<&Value>) -> Result<Vec<String>, ScimError> {
    match members {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.get("value")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ScimError::bad(
                            ScimType::InvalidValue,
                            "Each member needs a value (a user id).",
                        )
                    })
            })
            .collect(),
        Some(Value::Object(_)) => member_values(Some(&Value::Array(vec![members
            .cloned()
            .unwrap_or(Value::Null)]))),
        Some(_) => Err(ScimError::bad(
            ScimType::InvalidValue,
            "members must be an array.",
        )),
    }
}

/// A member that is not a user of the workspace is a bad value in the request, not a
/// missing resource.
fn member_error(err: roster_core::Error) -> ScimError {
    if err.code == Code::UserNotFound {
        ScimError::bad(ScimType::InvalidValue, err.message)
    } else {
        ScimError::Core(err)
    }
}

async fn answer(
    state: &AppState,
    workspace: &Workspace,
    group: &Group,
    status: StatusCode,
    headers: &HeaderMap,
    params: &ListParams,
) -> Result<Response, ScimError> {
    let members = match wants_members(params) {
        true => Some(members(state, workspace, group).await?),
        false => None,
    };
    let body = render(
        group,
        members.as_deref(),
        &base_url(headers),
        wants_member_details(params),
    );
    let body = list::project(body, &params.attributes, &params.excluded);
    Ok(super::resource(status, body))
}

pub async fn create(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let (input, members) = read(body)?;
    let group = state
        .roster
        .create_group_with_members(&caller.workspace, caller.audit(), input, members)
        .await
        .map_err(member_error)?;
    answer(
        &state,
        &caller.workspace,
        &group,
        StatusCode::CREATED,
        &headers,
        &ListParams::default(),
    )
    .await
}

pub async fn get(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = ListParams::from_query(query.as_deref())?;
    let group = state.roster.get_group(&caller.workspace, &id).await?;
    if let Some(early) = super::conditional_get(&headers, group_version(&group))? {
        return Ok(early);
    }
    answer(
        &state,
        &caller.workspace,
        &group,
        StatusCode::OK,
        &headers,
        &params,
    )
    .await
}

pub async fn replace(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let if_version = if_match(&headers)?;
    let (input, members) = read(body)?;
    let changes = MemberChanges {
        replace: Some(members),
        ..MemberChanges::default()
    };
    let group = state
        .roster
        .change_group(
            &caller.workspace,
            caller.audit(),
            &id,
            input,
            changes,
            if_version,
        )
        .await
        .map_err(member_error)?;
    answer(
        &state,
        &caller.workspace,
        &group,
        StatusCode::OK,
        &headers,
        &ListParams::default(),
    )
    .await
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
    let (input, changes) = changes(&patch::read(&body)?)?;
    let group = state
        .roster
        .change_group(
            &caller.workspace,
            caller.audit(),
            &id,
            input,
            changes,
            if_version,
        )
        .await
        .map_err(member_error)?;
    answer(
        &state,
        &caller.workspace,
        &group,
        StatusCode::OK,
        &headers,
        &params,
    )
    .await
}

/// A group PATCH's operations as a change of its fields and members.
pub fn changes(operations: &[Operation]) -> Result<(GroupInput, MemberChanges), ScimError> {
    let mut input = GroupInput::default();
    let mut members = MemberChanges::default();
    for operation in operations {
        match &operation.path {
            None => {
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        "Without a path, the value is an object.",
                    ));
                };
                let writable = values.iter().filter(|(k, _)| {
                    !["id", "meta", "schemas"]
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(k))
                });
                for (key, value) in writable {
                    apply_attribute(&mut input, &mut members, operation.op, key, Some(value))?;
                }
            }
            Some(PatchPath::Attr(path)) => {
                if path.sub_attr.is_some() && !path.name.eq_ignore_ascii_case("members") {
                    return Err(ScimError::bad(
                        ScimType::InvalidPath,
                        format!("Group has no attribute '{path}'."),
                    ));
                }
                apply_attribute(
                    &mut input,
                    &mut members,
                    operation.op,
                    &path.name,
                    operation.value.as_ref(),
                )?;
            }
            Some(PatchPath::Value(vp)) if vp.attr.name.eq_ignore_ascii_case("members") => {
                let ids = patch::member_ids(&vp.filter)?;
                match operation.op {
                    OpKind::Remove => remove_members(&mut members, ids),
                    _ => add_members(&mut members, ids),
                }
            }
            Some(PatchPath::Value(vp)) => {
                return Err(ScimError::bad(
                    ScimType::InvalidPath,
                    format!("Group has no multi-valued attribute '{}'.", vp.attr),
                ));
            }
        }
    }
    Ok((input, members))
}

fn apply_attribute(
    input: &mut GroupInput,
    members: &mut MemberChanges,
    op: OpKind,
    key: &str,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let key = key
        .strip_prefix(GROUP_SCHEMA)
        .and_then(|k| k.strip_prefix(':'))
        .unwrap_or(key);
    match canonical(key, GROUP_ATTRIBUTES) {
        Some("displayName") => match (op, value) {
            (OpKind::Remove, _) => Err(ScimError::bad(
                ScimType::Mutability,
                "displayName is required.",
            )),
            (_, Some(Value::String(name))) => {
                input.name = Some(name.clone());
                Ok(())
            }
            _ => Err(ScimError::bad(
                ScimType::InvalidValue,
                "displayName is a string.",
            )),
        },
        Some("members") => {
            let ids = member_values(value)?;
            match op {
                OpKind::Add => add_members(members, ids),
                OpKind::Replace => members.replace = Some(ids),
                // Remove with no value: every member; with a value (Entra ID): those.
                OpKind::Remove if value.is_none() => members.replace = Some(Vec::new()),
                OpKind::Remove => remove_members(members, ids),
            }
            Ok(())
        }
        Some("externalId") => match (op, value) {
            (OpKind::Remove, _) | (_, Some(Value::Null)) => {
                input.external_id = Some(None);
                Ok(())
            }
            (_, Some(Value::String(id))) => {
                input.external_id = Some(Some(id.clone()));
                Ok(())
            }
            _ => Err(ScimError::bad(
                ScimType::InvalidValue,
                "externalId is a string.",
            )),
        },
        Some(read_only @ ("id" | "meta" | "schemas")) => Err(ScimError::bad(
            ScimType::Mutability,
            format!("{read_only} is read-only."),
        )),
        _ => Err(ScimError::bad(
            ScimType::InvalidPath,
            format!("Group has no attribute '{key}'."),
        )),
    }
}

fn add_members(members: &mut MemberChanges, ids: Vec<String>) {
    match &mut members.replace {
        Some(list) => list.extend(ids),
        None => {
            members.remove.retain(|r| !ids.contains(r));
            members.add.extend(ids);
        }
    }
}

fn remove_members(members: &mut MemberChanges, ids: Vec<String>) {
    match &mut members.replace {
        Some(list) => list.retain(|m| !ids.contains(m)),
        None => {
            members.add.retain(|a| !ids.contains(a));
            members.remove.extend(ids);
        }
    }
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
        .delete_group_at_version(&caller.workspace, caller.audit(), &id, if_version)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

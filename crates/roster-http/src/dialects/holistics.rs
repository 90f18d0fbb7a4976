//! Seed 003: a BI tool's legacy user API (`/users.json`, `/users/invite.json`, …).
//!
//! - Authentication: a secret key in the `X-Holistics-Key` header.
//! - Ids: `id` is the user's integer key; `tenant_id` the workspace's integer key; a group's
//!   `id` its integer key.
//! - Roles: a role the workspace has is used as given; otherwise the seed's names map onto
//!   Roster's defaults — `analyst` → `editor`, `explorer`, `user` and `business` → `viewer` —
//!   and anything else is refused. Roles are shown as the workspace names them.
//! - Fields: `initials` are the name's first two letters; `is_activated` is `status ==
//!   active`; `is_deleted` soft deletion (the full list includes deleted users, as the field
//!   implies); `groups` are the user's current groups; `title` comes from the `title`
//!   attribute; sign-in times and the personal token flags are the core's.
//! - `POST /users/invite.json` creates an invited user (mail with the `message`);
//!   `resend_invite`, `DELETE /users/{id}.json` (soft delete), `restore.json`, `PATCH
//!   /users/{id}.json` (`allow_authentication_token` and other fields),
//!   `revoke_authentication_token`, `change_user_role` (with `remove_groups`),
//!   `check_holistics_user` and `get_user` map onto the core's operations. The odd URL forms
//!   (`/users/get_user.json/?email=…`) work.
//! - Bodies may use bare keys, comments and trailing commas, as the seed writes them.
//! - Success `{"status": "ok"}`; errors `{"errors": [message]}` with the seed's messages
//!   ("Email already existed", "User is not deleted"): 422 for invalid input and conflicts,
//!   401, 403, 404 and 429 otherwise.

use crate::surface::Surface;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use roster_core::{Code, NewUser, Page, Scope, User, UserFilter, UserPatch, UserRef, Workspace};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{body_object, invalid};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users.json", get(list))
        .route("/users/invite.json", post(invite))
        .route("/users/restore.json", post(restore))
        .route("/users/change_user_role.json", post(change_role))
        .route("/users/check_holistics_user.json", get(check))
        .route("/users/check_holistics_user.json/", get(check))
        .route("/users/get_user.json", get(find))
        .route("/users/get_user.json/", get(find))
        .route("/users/{id}", axum::routing::delete(delete).patch(update))
        .route("/users/{id}/resend_invite.json", post(resend))
        .route(
            "/users/{id}/revoke_authentication_token.json",
            post(revoke_token),
        )
}

dialect_error!(
    /// An error in this dialect's format: `{"errors": [message]}`.
    HolisticsError
);

impl IntoResponse for HolisticsError {
    fn into_response(self) -> Response {
        let code = self.0.code;
        let shown = crate::error::expose(self.0);
        let status = Surface::Holistics.status(shown.kind);
        // The document's own words for its two documented failures.
        let message = match code {
            Code::EmailTaken => "Email already existed".to_owned(),
            Code::UserNotFound => "User not found".to_owned(),
            _ => shown.message,
        };
        response(status, shown.code, message, shown.retry_after)
    }
}

/// A Holistics error response: `{"errors": [message]}`.
pub(crate) fn response(
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<i64>,
) -> Response {
    let answer = super::with_retry_after(
        (status, Json(json!({"errors": [&message]}))).into_response(),
        retry_after,
    );
    crate::surface::mark(answer, crate::surface::Surface::Holistics, code, &message)
}

dialect_caller!(
    /// The caller, by its `X-Holistics-Key`.
    Tenant,
    HolisticsError,
    |parts, state| super::header_key_caller(
        parts,
        state,
        "x-holistics-key",
        "Send your API key in the X-Holistics-Key header."
    )
);

fn ok() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

fn text(body: &Map<String, Value>, field: &'static str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// An integer id, given as a number or a string.
fn id_of(value: Option<&Value>) -> Result<i64, roster_core::Error> {
    match value {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| *n > 0)
    .ok_or_else(|| roster_core::Error::field(Code::FieldRequired, "id", "id is required."))
}

fn path_id(text: &str) -> Result<i64, roster_core::Error> {
    text.trim()
        .trim_end_matches(".json")
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(roster_core::Error::user_not_found)
}

/// The workspace role for a seed 003 role name.
fn role(workspace: &Workspace, given: &str) -> Result<String, roster_core::Error> {
    let given = given.trim();
    if workspace.has_role(given) {
        return Ok(given.to_owned());
    }
    let alias = match given {
        "analyst" => "editor",
        "explorer" | "user" | "business" => "viewer",
        _ => "",
    };
    if workspace.has_role(alias) {
        Ok(alias.to_owned())
    } else {
        Err(roster_core::Error::field(
            Code::UnknownRole,
            "role",
            format!(
                "Role '{}' is invalid",
                given.chars().take(32).collect::<String>()
            ),
        ))
    }
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn initials(name: &str) -> String {
    let mut chars = name.trim().chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    let second: String = chars
        .next()
        .map(|c| c.to_lowercase().collect())
        .unwrap_or_default();
    first + &second
}

/// A user as `/users.json` lists it, with its current groups (none once deleted).
fn full(
    workspace: &Workspace,
    user: User,
    groups: Vec<(roster_core::Group, roster_core::Membership)>,
) -> Value {
    let groups = if user.is_deleted() {
        Vec::new()
    } else {
        groups
    };
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(g, _)| {
            json!({"id": g.key, "name": g.name, "created_at": iso(g.created_at),
                   "updated_at": iso(g.updated_at), "tenant_id": workspace.key})
        })
        .collect();
    json!({
        "id": user.key,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "initials": initials(&user.name),
        "is_deleted": user.is_deleted(),
        "is_activated": user.status == roster_core::UserStatus::Active,
        "has_authentication_token": user.has_authentication_token,
        "groups": groups,
        "allow_authentication_token": user.allow_authentication_token,
        "current_sign_in_at": user.current_sign_in_at.map(iso),
        "last_sign_in_at": user.last_sign_in_at.map(iso),
    })
}

/// Every user of the tenant, deleted ones included, newest first, streamed as one array.
async fn list(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
) -> Result<Response, HolisticsError> {
    caller.require(Scope::UsersRead)?;
    let workspace = caller.workspace.clone();
    Ok(super::json_array_of_pages(move |cursor| {
        let (state, workspace) = (state.clone(), workspace.clone());
        async move {
            let filter = UserFilter {
                include_deleted: true,
                ..UserFilter::default()
            };
            let page = Page {
                limit: Some(roster_core::listing::MAX_LIMIT),
                cursor,
            };
            let found = state.roster.list_users(&workspace, &filter, &page).await?;
            // The page's groups in one read; a user deleted meanwhile is no error.
            let groups = state
                .roster
                .groups_of_users(&workspace, &found.users)
                .await?;
            let items = found
                .users
                .into_iter()
                .zip(groups)
                .map(|(user, groups)| full(&workspace, user, groups))
                .collect();
            Ok((items, found.next_cursor.map(|c| c.encode())))
        }
    })
    .await?)
}

async fn invite(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    bytes: Bytes,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersWrite)?;
    let body = body_object(&bytes)?;
    let role = match text(&body, "role") {
        Some(given) => Some(role(&caller.workspace, &given)?),
        None => None,
    };
    let input = NewUser {
        name: text(&body, "name"),
        email: text(&body, "email"),
        role,
        send_invitation: Some(true),
        message: text(&body, "message"),
        ..NewUser::default()
    };
    state
        .roster
        .create_user(&caller.workspace, caller.audit(), input)
        .await?;
    Ok(ok())
}

async fn resend(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .resend_invitation(
            &caller.workspace,
            caller.audit(),
            UserRef::Key(path_id(&id)?),
            None,
        )
        .await?;
    Ok(ok())
}

async fn delete(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(file): Path<String>,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .delete_user(
            &caller.workspace,
            caller.audit(),
            UserRef::Key(path_id(&file)?),
        )
        .await?;
    Ok(ok())
}

async fn restore(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    bytes: Bytes,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersWrite)?;
    let body = body_object(&bytes)?;
    state
        .roster
        .restore_user(
            &caller.workspace,
            caller.audit(),
            UserRef::Key(id_of(body.get("id"))?),
        )
        .await?;
    Ok(ok())
}

async fn update(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(file): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersWrite)?;
    let workspace = &caller.workspace;
    let body = body_object(&bytes)?;
    let allow = match body.get("allow_authentication_token") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(invalid(
                "allow_authentication_token",
                "allow_authentication_token must be true or false.",
            )
            .into())
        }
    };
    let role = match text(&body, "role") {
        Some(given) => Some(Some(role(workspace, &given)?)),
        None => None,
    };
    let patch = UserPatch {
        name: text(&body, "name").map(Some),
        email: text(&body, "email").map(Some),
        role,
        allow_authentication_token: allow,
        ..UserPatch::default()
    };
    state
        .roster
        .update_user(
            workspace,
            caller.audit(),
            UserRef::Key(path_id(&file)?),
            &patch,
        )
        .await?;
    Ok(ok())
}

async fn revoke_token(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .revoke_personal_token(
            &caller.workspace,
            caller.audit(),
            UserRef::Key(path_id(&id)?),
        )
        .await?;
    Ok(ok())
}

async fn change_role(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    bytes: Bytes,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersWrite)?;
    let workspace = &caller.workspace;
    let body = body_object(&bytes)?;
    let user = UserRef::Key(id_of(body.get("id"))?);
    let params = body
        .get("user")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let given = text(&params, "role").ok_or_else(|| {
        roster_core::Error::field(Code::FieldRequired, "role", "user.role is required.")
    })?;
    let remove_groups = match params.get("remove_groups") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid("remove_groups", "remove_groups must be true or false.").into())
        }
    };
    let patch = UserPatch {
        role: Some(Some(role(workspace, &given)?)),
        remove_groups,
        ..UserPatch::default()
    };
    state
        .roster
        .update_user(workspace, caller.audit(), user, &patch)
        .await?;
    Ok(ok())
}

#[derive(Debug, Deserialize)]
struct EmailQuery {
    email: Option<String>,
}

fn email_of(query: EmailQuery) -> Result<String, roster_core::Error> {
    query.email.filter(|e| !e.trim().is_empty()).ok_or_else(|| {
        roster_core::Error::field(Code::FieldRequired, "email", "email is required.")
    })
}

async fn check(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Query(query): Query<EmailQuery>,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersRead)?;
    let email = email_of(query)?;
    let found = state
        .roster
        .find_user_by_email(&caller.workspace, &email)
        .await?;
    Ok(Json(json!({"is_already_user": found.is_some()})))
}

async fn find(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Query(query): Query<EmailQuery>,
) -> Result<Json<Value>, HolisticsError> {
    caller.require(Scope::UsersRead)?;
    let email = email_of(query)?;
    let user = state
        .roster
        .find_user_by_email(&caller.workspace, &email)
        .await?
        .ok_or_else(roster_core::Error::user_not_found)?;
    Ok(Json(json!({
        "id": user.key,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "title": user.attributes.get("title").cloned().unwrap_or(Value::Null),
    })))
}

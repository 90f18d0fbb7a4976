//! Seed 004: a store's dashboard users (`/integration-api/v1/dashboard/users…`) and forced
//! logout (`/integration-api/v1/users/{id}/force-logout`).
//!
//! - Authentication: a secret key in the `X-User-Token` header.
//! - Ids: `id` is the user's integer key, `uuid` its UUID; force logout also takes the
//!   external id. `assign_new_plan` is a group's integer key: the plan is a group membership,
//!   and `new_plan_custom_valid_to` (`yyyy-mm-dd`, empty for none) its expiry (the end of that
//!   day, UTC); `user_plans` lists the user's current memberships.
//! - Fields: users have no name here; a created user is named after its email's local part.
//!   `admin` is the `admin` role (false: the workspace's last role, `viewer` by default);
//!   `plan_admin` and `only_sees_readable` are kept in the user's attributes; `picture` is the
//!   Gravatar URL of the email; `new_password` sets the password (the workspace's policy
//!   applies; an update with one ends the user's sessions); `sessions_limit` is the core's.
//!   Users are created active (no invitation).
//! - `DELETE` deactivates (`data: []`), `PUT …/re-activate` reactivates (`data: 1`); the list
//!   filters are `email`, `query=deactivated` and `query=admins`, in a Laravel paginator
//!   (`page`, `per_page` up to 100, default 15).
//! - Bodies may carry `//` comments and trailing commas, as the seed's example does.
//! - Envelope `{"CODE": "success", "data": …}`; errors `{"CODE", "message"}`, validation
//!   errors 422 with `errors: {field: [reason]}`, 401 `Unauthenticated.`.

use crate::surface::Surface;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use md5::{Digest, Md5};
use roster_core::{Code, NewUser, Scope, User, UserFilter, UserPatch, UserRef, Workspace};
use serde_json::{json, Map, Value};

use super::{body_object, invalid};
use crate::AppState;

const USERS: &str = "/integration-api/v1/dashboard/users";
const DEFAULT_PER_PAGE: u32 = 15;
const MAX_PAGE: u32 = 10_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(USERS, get(list).post(create))
        .route(
            "/integration-api/v1/dashboard/users/",
            get(list).post(create),
        )
        .route(
            "/integration-api/v1/dashboard/users/{id}",
            put(update).delete(deactivate),
        )
        .route(
            "/integration-api/v1/dashboard/users/{id}/re-activate",
            put(reactivate),
        )
        .route(
            "/integration-api/v1/users/{id}/force-logout",
            post(force_logout),
        )
}

dialect_error!(
    /// An error in this dialect's format.
    PublicaError
);

impl IntoResponse for PublicaError {
    fn into_response(self) -> Response {
        let shown = crate::error::expose(self.0);
        let status = Surface::Publica.status(shown.kind);
        response(
            status,
            shown.code,
            shown.message,
            shown.field,
            shown.retry_after,
        )
    }
}

/// A Publica.la error response: a 422 as Laravel's validation error
/// (`{"CODE": "validation_error", "message", "errors": {field: [message]}, "code"}`), a 401
/// as `{"CODE": "unauthenticated", "message": "Unauthenticated."}`, anything else as
/// `{"CODE": code, "message"}`.
pub(crate) fn response(
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
    retry_after: Option<i64>,
) -> Response {
    let body = match status {
        StatusCode::UNPROCESSABLE_ENTITY => {
            json!({"CODE": "validation_error", "message": &message,
                   "errors": {field.unwrap_or("body"): [&message]}, "code": code})
        }
        StatusCode::UNAUTHORIZED => {
            json!({"CODE": "unauthenticated", "message": "Unauthenticated.", "code": code})
        }
        s if s.is_server_error() => json!({"CODE": "error", "message": &message, "code": code}),
        _ => json!({"CODE": code, "message": &message}),
    };
    let answer = super::with_retry_after((status, Json(body)).into_response(), retry_after);
    crate::surface::mark(answer, crate::surface::Surface::Publica, code, &message)
}

dialect_caller!(
    /// The caller, by its `X-User-Token`.
    Store,
    PublicaError,
    |parts, state| super::header_key_caller(parts, state, "x-user-token", "Unauthenticated.")
);

fn success(data: Value) -> Json<Value> {
    Json(json!({"CODE": "success", "data": data}))
}

/// Laravel's loose booleans: true/false, 1/0, "1"/"0", "true"/"false".
fn flag(
    body: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<bool>, roster_core::Error> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
        Some(Value::String(s)) if s == "1" || s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "0" || s == "false" => Ok(Some(false)),
        Some(_) => Err(invalid(
            field,
            format!("The {field} field must be true or false."),
        )),
    }
}

fn text(
    body: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, roster_core::Error> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(invalid(
            field,
            format!("The {field} field must be a string."),
        )),
    }
}

fn required(body: &Map<String, Value>, field: &'static str) -> Result<String, roster_core::Error> {
    text(body, field)?.ok_or_else(|| {
        roster_core::Error::field(
            Code::FieldRequired,
            field,
            format!("The {field} field is required."),
        )
    })
}

/// `sessions_limit`: absent → `None`; null → `Some(None)`.
fn sessions_limit(body: &Map<String, Value>) -> Result<Option<Option<i64>>, roster_core::Error> {
    match body.get("sessions_limit") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|n| Some(Some(n)))
            .ok_or_else(|| invalid("sessions_limit", "The sessions_limit must be an integer.")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(|n| Some(Some(n)))
            .map_err(|_| invalid("sessions_limit", "The sessions_limit must be an integer.")),
        Some(_) => Err(invalid(
            "sessions_limit",
            "The sessions_limit must be an integer.",
        )),
    }
}

/// The plan to assign: a group's key and the end of its validity.
struct Plan {
    group_id: String,
    expires_at: Option<DateTime<Utc>>,
}

async fn plan(
    state: &AppState,
    workspace: &Workspace,
    body: &Map<String, Value>,
) -> Result<Option<Plan>, roster_core::Error> {
    let key = match body.get("assign_new_plan") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    }
    .ok_or_else(|| invalid("assign_new_plan", "The assign_new_plan must be a plan id."))?;
    // Only a missing plan is the document's validation error; anything else (a store
    // outage) stays what it is.
    let group = state
        .roster
        .get_group_by_key(workspace, key)
        .await
        .map_err(|err| match err.kind() {
            roster_core::ErrorKind::NotFound => {
                invalid("assign_new_plan", "The selected plan does not exist.")
            }
            _ => err,
        })?;
    let expires_at = match text(body, "new_plan_custom_valid_to")? {
        None => None,
        Some(date) => {
            let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
                invalid(
                    "new_plan_custom_valid_to",
                    "The new_plan_custom_valid_to must be a date (yyyy-mm-dd).",
                )
            })?;
            let end = day
                .succ_opt()
                .and_then(|next| next.and_hms_opt(0, 0, 0))
                .map(|at| at.and_utc())
                .ok_or_else(|| invalid("new_plan_custom_valid_to", "The date is out of range."))?;
            roster_core::group::check_expiry(
                "new_plan_custom_valid_to",
                Some(end),
                state.roster.now(),
            )?;
            Some(end)
        }
    };
    Ok(Some(Plan {
        group_id: group.id,
        expires_at,
    }))
}

/// The role a user with `admin` has: `admin`, else the workspace's last role.
fn role(workspace: &Workspace, admin: bool) -> Option<String> {
    if admin && workspace.has_role("admin") {
        Some("admin".to_owned())
    } else {
        workspace
            .roles
            .iter()
            .rev()
            .find(|r| *r != "admin")
            .or(workspace.roles.last())
            .cloned()
    }
}

fn picture(email: &str) -> String {
    let digest = Md5::digest(email.trim().to_lowercase().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("https://www.gravatar.com/avatar/{hex}?s=160&d=mm&r=g")
}

fn attribute_flag(user: &User, name: &str) -> bool {
    user.attributes
        .get(name)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn moment(at: DateTime<Utc>) -> Value {
    json!({
        "timestamp": at.timestamp(),
        "date": at.format("%Y-%m-%d %H:%M:%S").to_string(),
        "timezone": "UTC",
    })
}

/// The user as the create call answers it.
fn created(user: &User) -> Value {
    json!({
        "id": user.key,
        "email": user.email,
        "uuid": user.uuid.hyphenated().to_string(),
        "picture": picture(&user.email),
        "admin": user.role == "admin",
        "plan_admin": attribute_flag(user, "plan_admin"),
        "only_sees_readable": attribute_flag(user, "only_sees_readable"),
        "sessions_limit": user.sessions_limit,
        "created_at": moment(user.created_at),
        "updated_at": moment(user.updated_at),
        "deleted_at": null,
    })
}

/// A user as the paginator lists it, with its current plans.
fn listed(user: User, plans: &[(roster_core::Group, roster_core::Membership)]) -> Value {
    let iso = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let user_plans: Vec<Value> = plans
        .iter()
        .map(|(group, membership)| {
            json!({"plan_id": group.key, "name": group.name,
                   "valid_to": membership.expires_at.map(iso)})
        })
        .collect();
    json!({
        "id": user.key,
        "uuid": user.uuid.hyphenated().to_string(),
        "admin": user.role == "admin",
        "plan_admin": attribute_flag(&user, "plan_admin"),
        "email": user.email,
        "sessions_limit": user.sessions_limit,
        "only_sees_readable": u8::from(attribute_flag(&user, "only_sees_readable")),
        "picture": picture(&user.email),
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
        "deleted_at": null,
        "purchased_issues_with_cancelled_count": 0,
        "user_plans_count": user_plans.len(),
        "can_be_edited": true,
        "created_at_date_string": user.created_at.format("%Y-%m-%d").to_string(),
        "sessions": null,
        "ip_ranges": [],
        "referrers": [],
        "purchased_issues_with_cancelled": [],
        "user_plans": user_plans,
    })
}

async fn create(
    State(state): State<AppState>,
    Store(caller): Store,
    bytes: Bytes,
) -> Result<Json<Value>, PublicaError> {
    caller.require(Scope::UsersWrite)?;
    let body = body_object(&bytes)?;
    let external_id = required(&body, "external_id")?;
    let email = required(&body, "email")?;
    let admin = flag(&body, "admin")?.unwrap_or(false);
    let plan_admin = flag(&body, "plan_admin")?.unwrap_or(false);
    let only_sees_readable = flag(&body, "only_sees_readable")?.unwrap_or(false);
    let limit = sessions_limit(&body)?.flatten();
    let plan = plan(&state, &caller.workspace, &body).await?;
    let name = email.split('@').next().unwrap_or(&email).to_owned();
    let input = NewUser {
        name: Some(name),
        email: Some(email),
        role: role(&caller.workspace, admin),
        send_invitation: Some(false),
        external_id: Some(external_id),
        attributes: Some(
            json!({"plan_admin": plan_admin, "only_sees_readable": only_sees_readable}),
        ),
        password: text(&body, "new_password")?,
        sessions_limit: limit,
        // The plan is a membership written with the user: one call, one transaction.
        groups: plan
            .map(|plan| roster_core::GroupGrant {
                group_id: plan.group_id,
                expires_at: plan.expires_at,
            })
            .into_iter()
            .collect(),
        ..NewUser::default()
    };
    let user = state
        .roster
        .create_user(&caller.workspace, caller.audit(), input)
        .await?;
    Ok(success(created(&user)))
}

/// The list's query, read as Laravel reads one: a repeated parameter's last value wins,
/// and a number that is not one is a validation error (422), not a framework error.
#[derive(Debug, Default)]
struct ListParams {
    email: Option<String>,
    query: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

impl ListParams {
    fn parse(query: Option<&str>) -> Result<Self, roster_core::Error> {
        let mut params = Self::default();
        let number = |field: &'static str, value: &str| {
            value
                .trim()
                .parse::<u32>()
                .map_err(|_| invalid(field, format!("The {field} must be an integer.")))
        };
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match name.as_ref() {
                "email" => params.email = Some(value.into_owned()),
                "query" => params.query = Some(value.into_owned()),
                "page" => params.page = Some(number("page", &value)?),
                "per_page" => params.per_page = Some(number("per_page", &value)?),
                _ => {}
            }
        }
        Ok(params)
    }
}

async fn list(
    State(state): State<AppState>,
    Store(caller): Store,
    uri: axum::http::Uri,
) -> Result<Json<Value>, PublicaError> {
    caller.require(Scope::UsersRead)?;
    let params = ListParams::parse(uri.query())?;
    let workspace = &caller.workspace;
    let mut filter = UserFilter {
        email: params.email.filter(|e| !e.trim().is_empty()),
        ..UserFilter::default()
    };
    // A workspace without an `admin` role has no admins to list.
    let mut nobody = false;
    match params.query.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("deactivated") => filter.status = Some("inactive".to_owned()),
        Some("admins") if workspace.has_role("admin") => filter.role = Some("admin".to_owned()),
        Some("admins") => nobody = true,
        // Clients written against the document's obscured example send the email filter as
        // `query` too: an address there filters by email.
        Some(email) if email.contains('@') && filter.email.is_none() => {
            filter.email = Some(email.to_owned());
        }
        Some(_) => {
            return Err(invalid(
                "query",
                "query must be deactivated, admins or an email address.",
            )
            .into())
        }
    }
    let per_page = params.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=roster_core::listing::MAX_LIMIT).contains(&per_page) {
        return Err(invalid("per_page", "per_page must be between 1 and 100.").into());
    }
    let page_number = params.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page_number) {
        return Err(invalid("page", format!("page must be between 1 and {MAX_PAGE}.")).into());
    }
    // Pages are counted from the newest user; page N is one read, whatever N.
    let (users, has_next) = if nobody {
        (Vec::new(), false)
    } else {
        let page = state
            .roster
            .list_users_numbered(workspace, &filter, page_number, per_page)
            .await?;
        (page.users, page.next_cursor.is_some())
    };
    let reached = users.len();
    // The page's plans in one read; a user deleted meanwhile is listed without plans.
    let plans = state.roster.groups_of_users(workspace, &users).await?;
    let data: Vec<Value> = users
        .into_iter()
        .zip(plans)
        .map(|(user, plans)| listed(user, &plans))
        .collect();
    let from = (page_number - 1) * per_page + 1;
    let url = |page: u32| format!("{USERS}?page={page}");
    Ok(success(json!({"paginator": {
        "current_page": page_number,
        "data": data,
        "first_page_url": url(1),
        "from": if reached == 0 { Value::Null } else { json!(from) },
        "next_page_url": if has_next { json!(url(page_number + 1)) } else { Value::Null },
        "path": USERS,
        "per_page": per_page,
        "prev_page_url": if page_number > 1 { json!(url(page_number - 1)) } else { Value::Null },
        "to": if reached == 0 { Value::Null } else { json!(from + reached as u32 - 1) },
    }})))
}

fn user_key(id: &str) -> Result<i64, roster_core::Error> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(roster_core::Error::user_not_found)
}

async fn update(
    State(state): State<AppState>,
    Store(caller): Store,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<StatusCode, PublicaError> {
    caller.require(Scope::UsersWrite)?;
    let workspace = &caller.workspace;
    let body = body_object(&bytes)?;
    let external_id = required(&body, "external_id")?;
    let email = required(&body, "email")?;
    let mut attributes = Map::new();
    for field in ["plan_admin", "only_sees_readable"] {
        if let Some(value) = flag(&body, field)? {
            attributes.insert(field.to_owned(), Value::Bool(value));
        }
    }
    let plan = plan(&state, workspace, &body).await?;
    // The fields, the password and the plan: one core call, one transaction.
    let patch = UserPatch {
        email: Some(Some(email)),
        external_id: Some(Some(external_id)),
        role: flag(&body, "admin")?.map(|admin| role(workspace, admin)),
        sessions_limit: sessions_limit(&body)?,
        attributes: (!attributes.is_empty()).then_some(Value::Object(attributes)),
        password: text(&body, "new_password")?,
        join_groups: plan
            .map(|plan| roster_core::GroupGrant {
                group_id: plan.group_id,
                expires_at: plan.expires_at,
            })
            .into_iter()
            .collect(),
        ..UserPatch::default()
    };
    state
        .roster
        .update_user(
            workspace,
            caller.audit(),
            UserRef::Key(user_key(&id)?),
            &patch,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deactivate(
    State(state): State<AppState>,
    Store(caller): Store,
    Path(id): Path<String>,
) -> Result<Json<Value>, PublicaError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .deactivate_user(
            &caller.workspace,
            caller.audit(),
            UserRef::Key(user_key(&id)?),
        )
        .await?;
    Ok(success(json!([])))
}

async fn reactivate(
    State(state): State<AppState>,
    Store(caller): Store,
    Path(id): Path<String>,
) -> Result<Json<Value>, PublicaError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .reactivate_user(
            &caller.workspace,
            caller.audit(),
            UserRef::Key(user_key(&id)?),
        )
        .await?;
    Ok(success(json!(1)))
}

async fn force_logout(
    State(state): State<AppState>,
    Store(caller): Store,
    Path(id): Path<String>,
) -> Result<Json<Value>, PublicaError> {
    caller.require(Scope::UsersWrite)?;
    let workspace = &caller.workspace;
    // An integer id names the user with that key; if there is none, the id may be an
    // external id that looks like a number.
    let ended = state
        .roster
        .force_logout(workspace, caller.audit(), UserRef::KeyOrExternalId(&id))
        .await?;
    Ok(success(json!({"sessions_ended": ended})))
}

//! Seed 000: an Admin API's users (`/api/v1/users[/{humanId}]`), after the client-token
//! exchange at `POST /v1/admin/token` ([`tokens`]).
//!
//! - Authentication: the client token as `Authorization: Bearer …` (a client whose admin API
//!   is disabled gets 403 `admin_api_disabled`); a secret key is accepted too.
//! - Ids: `humanId` is the user's UUID in its simple form (32 lowercase hex digits).
//! - Fields: `firstName`/`lastName` are the given and family names, or else the name split at
//!   its first space; `clientUserId` is the external id, `clientUserEmail` the email;
//!   `createdAt`/`updatedAt` RFC 3339 with milliseconds.
//! - Status, from Roster's lifecycle: `active` → "All Synced", `invited` → "Engaged"
//!   (invited, not yet connected), `inactive` → "Declined".
//! - `DELETE` soft-deletes and answers 200 with an empty body; the user leaves the list and
//!   its `clientUserId` is retired: creating a user with it again (on any surface) is 403
//!   `external_id_retired` until the user is restored or purged.
//! - Errors: [`HumanApiError`](super::HumanApiError)'s format.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::{Scope, User, UserRef, UserStatus};
use serde_json::{json, Value};

use super::human_api_app::{human_id, time};
use super::HumanApiError;
use crate::AppState;

pub mod tokens;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list))
        .route("/api/v1/users/{human_id}", get(read).delete(delete))
}

dialect_caller!(
    /// The caller, authenticated with a client token.
    Client,
    HumanApiError,
    |parts, state| super::human_api_caller(
        parts,
        state,
        "Send a client token from POST /v1/admin/token as 'Authorization: Bearer …'."
    )
);

/// Seed 000's status for a Roster status.
pub fn status(status: UserStatus) -> &'static str {
    match status {
        UserStatus::Active => "All Synced",
        UserStatus::Invited => "Engaged",
        UserStatus::Inactive => "Declined",
    }
}

/// First and last name: the parts if set, else the name split at its first space.
fn names(user: &User) -> (String, String) {
    let (first, last) = user
        .name
        .split_once(' ')
        .map_or((user.name.as_str(), ""), |(f, l)| (f, l.trim()));
    (
        user.given_name.clone().unwrap_or_else(|| first.to_owned()),
        user.family_name.clone().unwrap_or_else(|| last.to_owned()),
    )
}

fn user_json(user: User) -> Value {
    let (first, last) = names(&user);
    json!({
        "firstName": first,
        "lastName": last,
        "clientUserId": user.external_id,
        "clientUserEmail": user.email,
        "humanId": user.uuid.simple().to_string(),
        "createdAt": time(user.created_at),
        "updatedAt": time(user.updated_at),
        "status": status(user.status),
    })
}

async fn list(
    State(state): State<AppState>,
    Client(caller): Client,
) -> Result<Response, HumanApiError> {
    caller.require(Scope::UsersRead)?;
    Ok(super::json_array(
        roster_core::Roster::clone(&state.roster),
        caller.workspace.clone(),
        user_json,
    )
    .await?)
}

async fn read(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(human): Path<String>,
) -> Result<Json<Value>, HumanApiError> {
    caller.require(Scope::UsersRead)?;
    let user = state
        .roster
        .get_user_by_uuid(&caller.workspace, human_id(&human)?)
        .await?;
    Ok(Json(user_json(user)))
}

async fn delete(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(human): Path<String>,
) -> Result<Response, HumanApiError> {
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .delete_user(
            &caller.workspace,
            caller.audit(),
            UserRef::Uuid(human_id(&human)?),
        )
        .await?;
    Ok(StatusCode::OK.into_response())
}

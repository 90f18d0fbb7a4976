//! Seed 001: an application API's users (`/v1/apps/{appId}/users[/{humanId}]`).
//!
//! - Authentication: HTTP Basic with a secret key as the user name and a blank password (a
//!   Bearer secret key works too). `appId` is the workspace id (`ws_…`); another workspace's
//!   id is answered as an unknown app.
//! - Ids: `humanId` is the user's UUID in its simple form (32 lowercase hex digits).
//! - Fields: `externalId` is the external id (null when the user has none), `appId` the
//!   workspace id, `createdAt`/`updatedAt` RFC 3339 with milliseconds.
//! - `DELETE` soft-deletes (the external id stays reserved) and answers 204.
//! - Lists are the workspace's live users, newest first, as one JSON array.
//! - Errors: `{"statusCode", "error", "message", "code"}` ([`HumanApiError`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::SecondsFormat;
use roster_core::{Code, Scope, User, UserRef};
use serde_json::{json, Value};

use super::HumanApiError;
use crate::auth::Caller;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/apps/{app_id}/users", get(list))
        .route(
            "/v1/apps/{app_id}/users/{human_id}",
            get(read).delete(delete),
        )
}

dialect_caller!(
    /// The caller, authenticated with this dialect's scheme.
    App,
    HumanApiError,
    |parts, state| super::human_api_caller(
        parts,
        state,
        "Authenticate with your App Key as the Basic user name and a blank password."
    )
);

impl App {
    /// The caller, if `app_id` is its workspace.
    fn of(self, app_id: &str) -> Result<Caller, HumanApiError> {
        if self.0.workspace.id == app_id {
            Ok(self.0)
        } else {
            Err(roster_core::Error::new(Code::WorkspaceNotFound, "No app with this id.").into())
        }
    }
}

/// RFC 3339 with milliseconds, as the seed shows times.
pub(crate) fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn user_json(user: User, app_id: &str) -> Value {
    json!({
        "humanId": user.uuid.simple().to_string(),
        "externalId": user.external_id,
        "appId": app_id,
        "createdAt": time(user.created_at),
        "updatedAt": time(user.updated_at),
    })
}

/// A `humanId` as a UUID; anything else cannot name a user.
pub(crate) fn human_id(text: &str) -> Result<uuid::Uuid, roster_core::Error> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        uuid::Uuid::parse_str(text).map_err(|_| roster_core::Error::user_not_found())
    } else {
        Err(roster_core::Error::user_not_found())
    }
}

async fn list(
    State(state): State<AppState>,
    app: App,
    Path(app_id): Path<String>,
) -> Result<Response, HumanApiError> {
    let caller = app.of(&app_id)?;
    caller.require(Scope::UsersRead)?;
    let workspace = caller.workspace.clone();
    Ok(super::json_array(
        roster_core::Roster::clone(&state.roster),
        workspace,
        move |user| user_json(user, &app_id),
    )
    .await?)
}

async fn read(
    State(state): State<AppState>,
    app: App,
    Path((app_id, human)): Path<(String, String)>,
) -> Result<Json<Value>, HumanApiError> {
    let caller = app.of(&app_id)?;
    caller.require(Scope::UsersRead)?;
    let user = state
        .roster
        .get_user_by_uuid(&caller.workspace, human_id(&human)?)
        .await?;
    Ok(Json(user_json(user, &app_id)))
}

async fn delete(
    State(state): State<AppState>,
    app: App,
    Path((app_id, human)): Path<(String, String)>,
) -> Result<StatusCode, HumanApiError> {
    let caller = app.of(&app_id)?;
    caller.require(Scope::UsersWrite)?;
    state
        .roster
        .delete_user(
            &caller.workspace,
            caller.audit(),
            UserRef::Uuid(human_id(&human)?),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

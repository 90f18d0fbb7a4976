//! Bulk actions: the selected users, or every user matching the table's filter, changed one
//! by one as a job (each user its own core call, transaction and audit event), with a
//! progress bar and the list of what failed and why.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use roster_core::{AuditContext, Page, Roster, Workspace};

use super::layout::{self, count, Nav};
use super::session::Console;
use super::users::TableQuery;
use crate::AppState;

/// Finished jobs are forgotten after this long.
const KEEP_FINISHED_MINUTES: i64 = 60;
/// Failures listed in full; past this only counted.
const MAX_LISTED_FAILURES: usize = 1000;

/// What a bulk job does to each user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Deactivate,
    Reactivate,
    Delete,
    ForceLogout,
    AddToGroup,
    RemoveFromGroup,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "deactivate" => Self::Deactivate,
            "reactivate" => Self::Reactivate,
            "delete" => Self::Delete,
            "force_logout" => Self::ForceLogout,
            "add_to_group" => Self::AddToGroup,
            "remove_from_group" => Self::RemoveFromGroup,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Self::Deactivate => "Deactivate",
            Self::Reactivate => "Reactivate",
            Self::Delete => "Delete",
            Self::ForceLogout => "Force logout",
            Self::AddToGroup => "Add to group",
            Self::RemoveFromGroup => "Remove from group",
        }
    }

    fn needs_group(self) -> bool {
        matches!(self, Self::AddToGroup | Self::RemoveFromGroup)
    }
}

/// One job's progress.
#[derive(Debug)]
struct Job {
    workspace_key: i64,
    owner: String,
    action: Action,
    /// How many users it will change, when known.
    total: Option<u64>,
    done: u64,
    failed: u64,
    failures: Vec<(String, String)>,
    finished_at: Option<DateTime<Utc>>,
}

/// The console's jobs, by id (kept in this node's memory).
#[derive(Debug, Default)]
pub struct Jobs(Mutex<HashMap<String, Arc<Mutex<Job>>>>);

impl Jobs {
    fn add(&self, id: String, job: Job, now: DateTime<Utc>) -> Arc<Mutex<Job>> {
        let job = Arc::new(Mutex::new(job));
        let mut jobs = self.0.lock().unwrap_or_else(|p| p.into_inner());
        jobs.retain(|_, job| {
            let job = job.lock().unwrap_or_else(|p| p.into_inner());
            job.finished_at
                .is_none_or(|at| (now - at).num_minutes() < KEEP_FINISHED_MINUTES)
        });
        jobs.insert(id, job.clone());
        job
    }

    fn get(&self, id: &str) -> Option<Arc<Mutex<Job>>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }
}

/// Which users a job changes.
enum Targets {
    Selected(Vec<String>),
    Matching(TableQuery),
}

pub async fn start(
    State(state): State<AppState>,
    console: Console,
    body: axum::body::Bytes,
) -> Response {
    let mut ids = Vec::new();
    let (mut action, mut group, mut all, mut filter) =
        (String::new(), String::new(), false, String::new());
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "ids" => ids.push(value.into_owned()),
            "action" => action = value.into_owned(),
            "group" => group = value.into_owned(),
            "all" => all = value == "on",
            "filter" => filter = value.into_owned(),
            _ => {}
        }
    }
    let refuse = |message: &str| {
        let body = html! {
            (layout::problem(message))
            p { a href="/console/users" { "Back to the users" } }
        };
        (
            axum::http::StatusCode::BAD_REQUEST,
            console.page("Bulk action", Nav::Users, body),
        )
            .into_response()
    };
    let Some(action) = Action::parse(&action) else {
        return refuse("Choose an action.");
    };
    if action.needs_group() && group.trim().is_empty() {
        return refuse("Choose the group to add the users to or remove them from.");
    }
    let targets = if all {
        Targets::Matching(TableQuery::parse(Some(&filter)))
    } else if ids.is_empty() {
        return refuse("Select at least one user, or tick \"All users matching this filter\".");
    } else {
        Targets::Selected(ids)
    };
    let total = match &targets {
        Targets::Selected(ids) => Some(ids.len() as u64),
        Targets::Matching(query) => state
            .roster
            .console_user_count(&console.workspace, &query.filter())
            .await
            .ok()
            .filter(|c| c.exact)
            .map(|c| c.count),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let job = state.console_jobs.add(
        id.clone(),
        Job {
            workspace_key: console.workspace.key,
            owner: console.admin.user.id.clone(),
            action,
            total,
            done: 0,
            failed: 0,
            failures: Vec::new(),
            finished_at: None,
        },
        state.roster.now(),
    );
    let run = Run {
        roster: Roster::clone(&state.roster),
        workspace: console.workspace.clone(),
        ctx: console.audit().clone(),
        action,
        group,
        job,
    };
    tokio::spawn(run.all(targets));
    Redirect::to(&format!("/console/jobs/{id}")).into_response()
}

/// A job running.
struct Run {
    roster: Roster,
    workspace: Workspace,
    ctx: AuditContext,
    action: Action,
    group: String,
    job: Arc<Mutex<Job>>,
}

impl Run {
    async fn all(self, targets: Targets) {
        match targets {
            Targets::Selected(ids) => {
                for id in ids {
                    self.one(&id, &id).await;
                }
            }
            Targets::Matching(query) => self.matching(&query).await,
        }
        let now = self.roster.now();
        self.job
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finished_at = Some(now);
    }

    /// Every user matching `query`, a page at a time (pages follow the users' keys, so
    /// changing a user never moves the next page).
    async fn matching(&self, query: &TableQuery) {
        let filter = query.filter();
        let mut cursor = None;
        loop {
            let page = Page {
                limit: Some(100),
                cursor: cursor.take(),
            };
            let listed = match self
                .roster
                .list_users(&self.workspace, &filter, &page)
                .await
            {
                Ok(listed) => listed,
                Err(err) => {
                    self.record("(the list)", Err(err));
                    return;
                }
            };
            for user in &listed.users {
                self.one(&user.id, &user.name).await;
            }
            match listed.next_cursor {
                Some(next) => cursor = Some(next.encode()),
                None => return,
            }
        }
    }

    async fn one(&self, id: &str, shown: &str) {
        let (roster, ws, ctx) = (&self.roster, &self.workspace, &self.ctx);
        let outcome = match self.action {
            Action::Deactivate => roster.deactivate_user(ws, ctx, id).await.map(drop),
            Action::Reactivate => roster.reactivate_user(ws, ctx, id).await.map(drop),
            Action::Delete => roster.delete_user(ws, ctx, id).await,
            Action::ForceLogout => roster.force_logout(ws, ctx, id).await.map(drop),
            Action::AddToGroup => roster
                .add_member(ws, ctx, &self.group, id, None)
                .await
                .map(drop),
            Action::RemoveFromGroup => roster.remove_member(ws, ctx, &self.group, id).await,
        };
        self.record(shown, outcome);
    }

    fn record(&self, shown: &str, outcome: roster_core::Result<()>) {
        let mut job = self.job.lock().unwrap_or_else(|p| p.into_inner());
        job.done += 1;
        if let Err(err) = outcome {
            job.failed += 1;
            if job.failures.len() < MAX_LISTED_FAILURES {
                job.failures.push((shown.to_owned(), err.message));
            }
        }
    }
}

fn progress_view(id: &str, job: &Job) -> Markup {
    let finished = job.finished_at.is_some();
    let done = count(job.done);
    html! {
        div #job hx-get=[(!finished).then(|| format!("/console/jobs/{id}"))]
            hx-trigger=[(!finished).then_some("every 500ms")] hx-swap="outerHTML" {
            p role="status" {
                (job.action.label()) ": "
                @match job.total {
                    Some(total) => { (done) " of " (count(total)) " users" }
                    None => { (done) " users" }
                }
                @if finished { " — finished." } @else { " — running…" }
            }
            @match (job.total, finished) {
                (_, true) => { progress max="1" value="1" { "done" } }
                (Some(total), false) => { progress max=(total.max(1)) value=(job.done) { (done) } }
                (None, false) => { progress { "running" } }
            }
            @if finished {
                @if job.failed == 0 {
                    (layout::notice("Every user was changed (one audit event each)."))
                } @else {
                    (layout::problem(&format!("{} of them failed:", count(job.failed))))
                    div.table-wrap { table {
                        thead { tr { th { "User" } th { "Why" } } }
                        tbody {
                            @for (user, why) in &job.failures { tr { td { (user) } td { (why) } } }
                        }
                    } }
                }
                p { a href="/console/users" { "Back to the users" } }
            }
        }
    }
}

pub async fn progress(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let found = state.console_jobs.get(&id).filter(|job| {
        let job = job.lock().unwrap_or_else(|p| p.into_inner());
        job.workspace_key == console.workspace.key && job.owner == console.admin.user.id
    });
    let Some(job) = found else {
        let err = roster_core::Error::new(
            roster_core::Code::InvalidField,
            "There is no such job (finished jobs are kept for an hour).",
        );
        return (
            axum::http::StatusCode::NOT_FOUND,
            layout::error_response(&err),
        )
            .into_response();
    };
    let view = {
        let job = job.lock().unwrap_or_else(|p| p.into_inner());
        progress_view(&id, &job)
    };
    if headers.contains_key("hx-request") {
        return view.into_response();
    }
    console
        .page("Bulk action", Nav::Users, view)
        .into_response()
}

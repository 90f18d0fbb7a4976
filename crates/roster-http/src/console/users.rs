//! The users table (cursor pages, search as you type, filters, a column chooser, a cheap
//! count), the paste-an-id box, and creating or inviting a user.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use roster_core::{NewUser, Page, User, UserFilter};
use serde::Deserialize;

use super::layout::{self, count, maybe_time, problem, status_badge, Nav};
use super::session::Console;
use crate::AppState;

/// Users per page.
const PAGE_SIZE: u32 = 50;

/// The columns that can be shown besides the name; `attr.KEY` shows an attribute.
const COLUMNS: &[(&str, &str)] = &[
    ("email", "Email"),
    ("role", "Role"),
    ("status", "Status"),
    ("user_name", "User name"),
    ("external_id", "External id"),
    ("created", "Created"),
    ("last_sign_in", "Last sign-in"),
];
const DEFAULT_COLUMNS: &[&str] = &["email", "role", "status", "created"];

/// The table's state, all of it in the address (so it can be shared and reloaded).
#[derive(Debug, Clone, Default)]
pub struct TableQuery {
    pub q: String,
    pub role: String,
    pub status: String,
    pub group: String,
    pub deleted: bool,
    pub cursor: Option<String>,
    pub columns: Vec<String>,
    /// Attribute keys shown as columns, comma-separated as typed.
    pub attributes: String,
}

impl TableQuery {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut query = Self::default();
        let mut chose_columns = false;
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "q" => query.q = value,
                "role" => query.role = value,
                "status" => query.status = value,
                "group" => query.group = value,
                "deleted" => query.deleted = value == "on" || value == "true",
                "cursor" if !value.is_empty() => query.cursor = Some(value),
                "col" => {
                    chose_columns = true;
                    if COLUMNS.iter().any(|(name, _)| *name == value) {
                        query.columns.push(value);
                    }
                }
                "cols" => chose_columns = true,
                "attributes" => query.attributes = value,
                _ => {}
            }
        }
        if !chose_columns {
            query.columns = DEFAULT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        }
        query
    }

    pub fn filter(&self) -> UserFilter {
        let some = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        UserFilter {
            role: some(&self.role),
            status: some(&self.status),
            search: some(&self.q),
            email: None,
            group: some(&self.group),
            include_deleted: self.deleted,
        }
    }

    fn attribute_keys(&self) -> Vec<&str> {
        self.attributes
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .take(8)
            .collect()
    }

    /// The query string of this state, without the cursor; `cursor` appended if given.
    pub fn to_query(&self, cursor: Option<&str>) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("q", self.q.as_str()),
            ("role", &self.role),
            ("status", &self.status),
            ("group", &self.group),
        ] {
            if !value.is_empty() {
                out.append_pair(key, value);
            }
        }
        if self.deleted {
            out.append_pair("deleted", "on");
        }
        out.append_pair("cols", "");
        for column in &self.columns {
            out.append_pair("col", column);
        }
        if !self.attributes.is_empty() {
            out.append_pair("attributes", &self.attributes);
        }
        if let Some(cursor) = cursor {
            out.append_pair("cursor", cursor);
        }
        out.finish()
    }
}

/// Whether htmx asked for the results only (a keystroke, a filter change, a page turn).
fn wants_results(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
        && headers
            .get("hx-target")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t == "results")
}

pub async fn list(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = TableQuery::parse(raw.as_deref());
    let results = results(&state, &console, &query).await;
    if wants_results(&headers) {
        return results.into_response();
    }
    let groups = super::groups::first_groups(&state, &console).await;
    let body = html! {
        (filters(&console, &query, &groups))
        (bulk_bar(&console, &groups))
        div #results aria-live="polite" { (results) }
    };
    console.page("Users", Nav::Users, body).into_response()
}

fn filters(console: &Console, query: &TableQuery, groups: &[roster_core::Group]) -> Markup {
    let select = |name: &str, current: &str, options: Vec<(String, String)>| {
        html! {
            select #(format!("f-{name}")) name=(name) {
                @for (value, label) in options {
                    option value=(value) selected[value == current] { (label) }
                }
            }
        }
    };
    let mut roles = vec![(String::new(), "Any role".to_owned())];
    roles.extend(
        console
            .workspace
            .roles
            .iter()
            .map(|r| (r.clone(), r.clone())),
    );
    let statuses = ["", "invited", "active", "inactive"]
        .iter()
        .map(|s| {
            (
                s.to_string(),
                if s.is_empty() {
                    "Any status".into()
                } else {
                    s.to_string()
                },
            )
        })
        .collect();
    let mut group_options = vec![(String::new(), "Any group".to_owned())];
    group_options.extend(groups.iter().map(|g| (g.id.clone(), g.name.clone())));
    html! {
        div.row {
            a.button href="/console/users/new" { "Create or invite a user" }
            form.row method="get" action="/console/users/go" {
                label.inline for="go-id" { "Open user by id or email" }
                input #go-id name="id" placeholder="usr_… or ann@example.com" size="24";
                button.secondary type="submit" { "Open" }
            }
        }
        form #filters.filters method="get" action="/console/users"
            hx-get="/console/users" hx-target="#results" hx-push-url="true"
            hx-trigger="input changed delay:250ms from:#q, change, submit" {
            div.wide {
                label for="q" { "Search name or email" }
                input #q type="search" name="q" value=(query.q) autocomplete="off"
                    placeholder="Type part of a name or email";
            }
            div { label for="f-role" { "Role" } (select("role", &query.role, roles)) }
            div { label for="f-status" { "Status" } (select("status", &query.status, statuses)) }
            div { label for="f-group" { "Group" } (select("group", &query.group, group_options)) }
            div { label.inline { input type="checkbox" name="deleted" checked[query.deleted]; "Include deleted" } }
            details.wide {
                summary { "Columns" }
                input type="hidden" name="cols" value="";
                @for (name, label) in COLUMNS {
                    label.inline {
                        input type="checkbox" name="col" value=(name) checked[query.columns.iter().any(|c| c == name)];
                        (label)
                    }
                }
                label for="attributes" { "Attribute columns (keys, comma-separated)" }
                input #attributes name="attributes" value=(query.attributes) placeholder="title, department";
            }
            noscript { button type="submit" { "Apply" } }
        }
    }
}

fn bulk_bar(console: &Console, groups: &[roster_core::Group]) -> Markup {
    html! {
        form #bulk.panel method="post" action="/console/users/bulk" {
            (layout::csrf(console))
            div.row {
                label.inline for="bulk-action" { "With the selected users" }
                select #bulk-action name="action" {
                    option value="deactivate" { "Deactivate" }
                    option value="reactivate" { "Reactivate" }
                    option value="delete" { "Delete" }
                    option value="force_logout" { "Force logout" }
                    option value="add_to_group" { "Add to group" }
                    option value="remove_from_group" { "Remove from group" }
                }
                label.inline for="bulk-group" { "Group" }
                select #bulk-group name="group" {
                    option value="" { "(for group actions)" }
                    @for group in groups { option value=(group.id) { (group.name) } }
                }
                label.inline { input type="checkbox" name="all" value="on"; "All users matching this filter" }
                button type="submit" { "Run" }
            }
        }
    }
}

async fn results(state: &AppState, console: &Console, query: &TableQuery) -> Markup {
    let filter = query.filter();
    let page = Page {
        limit: Some(PAGE_SIZE),
        cursor: query.cursor.clone(),
    };
    let listed = match state
        .roster
        .list_users(&console.workspace, &filter, &page)
        .await
    {
        Ok(listed) => listed,
        Err(err) => return problem(&err.message),
    };
    // A first page that holds every match is its own count.
    let counted = if listed.next_cursor.is_none() && query.cursor.is_none() {
        Ok(roster_core::console::UserCount {
            count: listed.users.len() as u64,
            exact: true,
        })
    } else {
        state
            .roster
            .console_user_count(&console.workspace, &filter)
            .await
    };
    let count_line = match counted {
        Ok(c) if c.exact && c.count == 1 => "1 user".to_owned(),
        Ok(c) if c.exact => format!("{} users", count(c.count)),
        Ok(c) => format!(
            "More than {} users match (an estimate; the count stops there)",
            count(c.count)
        ),
        Err(_) => String::new(),
    };
    let attributes = query.attribute_keys();
    let next = listed.next_cursor.as_ref().map(|c| c.encode());
    html! {
        // The filter a bulk action over "all matching" uses: the table's, as it is now.
        input type="hidden" name="filter" form="bulk" value=(query.to_query(None));
        p.count { (count_line) }
        div.table-wrap {
            table {
                caption.hide-narrow.muted { "Users, newest first" }
                thead { tr {
                    th scope="col" { input type="checkbox" data-select-all aria-label="Select every user on this page"; }
                    th scope="col" { "Name" }
                    @for (name, label) in COLUMNS {
                        @if query.columns.iter().any(|c| c == name) { th scope="col" { (label) } }
                    }
                    @for key in &attributes { th scope="col" { (key) } }
                } }
                tbody {
                    @for user in &listed.users { (row(user, query, &attributes)) }
                    @if listed.users.is_empty() {
                        tr { td colspan="12" { "No user matches." } }
                    }
                }
            }
        }
        div.row {
            a.button.secondary href={"/console/export?format=csv&" (query.to_query(None))} download { "Export (CSV)" }
            @if query.cursor.is_some() {
                a.button.secondary href={"/console/users?" (query.to_query(None))}
                    hx-get={"/console/users?" (query.to_query(None))} hx-target="#results" hx-push-url="true" { "First page" }
            }
            @if let Some(next) = &next {
                a.button.secondary href={"/console/users?" (query.to_query(Some(next)))}
                    hx-get={"/console/users?" (query.to_query(Some(next)))} hx-target="#results" hx-push-url="true" { "Next page" }
            }
        }
    }
}

fn row(user: &User, query: &TableQuery, attributes: &[&str]) -> Markup {
    let shown = |name: &str| query.columns.iter().any(|c| c == name);
    let label = format!("Select {}", user.name);
    html! {
        tr {
            td { input type="checkbox" name="ids" value=(user.id) form="bulk" aria-label=(label); }
            td { a href={"/console/users/" (user.id)} { (user.name) } }
            @if shown("email") { td { (user.email) } }
            @if shown("role") { td { (user.role) } }
            @if shown("status") { td { (status_badge(user.status.as_str(), user.is_deleted())) } }
            @if shown("user_name") { td { (user.user_name) } }
            @if shown("external_id") { td { (user.external_id.as_deref().unwrap_or("")) } }
            @if shown("created") { td.nowrap { (layout::time(user.created_at)) } }
            @if shown("last_sign_in") { td.nowrap { (maybe_time(user.current_sign_in_at)) } }
            @for key in attributes {
                td { (attribute_text(user, key)) }
            }
        }
    }
}

/// An attribute's value as text: a string as it is, anything else as JSON.
fn attribute_text(user: &User, key: &str) -> String {
    match user.attributes.get(key) {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(value) => value.to_string(),
        None => String::new(),
    }
}

#[derive(Debug, Deserialize)]
pub struct GoQuery {
    #[serde(default)]
    id: String,
}

/// The paste-an-id box: a user id (any state) or an email opens that user.
pub async fn go(
    State(state): State<AppState>,
    console: Console,
    axum::extract::Query(query): axum::extract::Query<GoQuery>,
) -> Response {
    let wanted = query.id.trim();
    let found = if wanted.contains('@') {
        state
            .roster
            .find_user_by_email(&console.workspace, wanted)
            .await
            .and_then(|user| {
                user.map(|u| u.id)
                    .ok_or_else(roster_core::Error::user_not_found)
            })
    } else {
        state
            .roster
            .get_user_any_state(&console.workspace, wanted)
            .await
            .map(|user| user.id)
    };
    match found {
        Ok(id) => Redirect::to(&format!("/console/users/{id}")).into_response(),
        Err(err) => {
            let body = html! {
                (problem(&format!("No user of this workspace is \"{wanted}\": {}", err.message)))
                p { a href="/console/users" { "Back to the users" } }
            };
            (
                StatusCode::NOT_FOUND,
                console.page("User not found", Nav::Users, body),
            )
                .into_response()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    external_id: String,
    /// `invite` (an invitation mail) or `active` (with a password).
    #[serde(default)]
    start: String,
    #[serde(default)]
    password: String,
}

fn create_page(console: &Console, form: &CreateForm, said: Option<&str>) -> Markup {
    let role = if form.role.is_empty() {
        console.workspace.default_role()
    } else {
        &form.role
    };
    let body = html! {
        @if let Some(said) = said { (problem(said)) }
        form.panel method="post" action="/console/users/new" {
            (layout::csrf(console))
            div.grid2 {
                div {
                    label for="name" { "Name" }
                    input #name name="name" value=(form.name) required autofocus;
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(form.email) required;
                    label for="role" { "Role" }
                    select #role name="role" {
                        @for r in &console.workspace.roles { option value=(r) selected[r == role] { (r) } }
                    }
                }
                div {
                    label for="external_id" { "External id (optional)" }
                    input #external_id name="external_id" value=(form.external_id);
                    fieldset {
                        legend { "How the user starts" }
                        label.inline { input type="radio" name="start" value="invite" checked[form.start != "active"]; "Send an invitation" }
                        label.inline { input type="radio" name="start" value="active" checked[form.start == "active"]; "Active now, with this password" }
                    }
                    label for="password" { "Password (when active now)" }
                    input #password type="password" name="password" autocomplete="new-password";
                }
            }
            p { button type="submit" { "Create user" } }
        }
    };
    console.page("Create or invite a user", Nav::Users, body)
}

pub async fn new_form(console: Console) -> Markup {
    create_page(&console, &CreateForm::default(), None)
}

pub async fn create(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<CreateForm>,
) -> Response {
    let active = form.start == "active";
    let some = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let input = NewUser {
        name: some(&form.name),
        email: some(&form.email),
        role: some(&form.role),
        external_id: some(&form.external_id),
        send_invitation: Some(!active),
        password: if active {
            Some(form.password.clone())
        } else {
            None
        },
        ..NewUser::default()
    };
    match state
        .roster
        .create_user(&console.workspace, console.audit(), input)
        .await
    {
        Ok(user) => Redirect::to(&format!("/console/users/{}?made=1", user.id)).into_response(),
        Err(err) => {
            let status = crate::error::kind_status(err.kind());
            (status, create_page(&console, &form, Some(&err.message))).into_response()
        }
    }
}

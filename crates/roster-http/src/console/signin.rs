//! Signing in and out, the one-time setup link, and switching workspaces.

use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use roster_core::console::SetupAdmin;
use serde::Deserialize;

use super::layout::{self, bare, problem};
use super::session::{self, cookie, set_cookie, Console, CSRF_FIELD, PRE_COOKIE, SESSION_COOKIE};
use crate::auth::RequestOrigin;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    workspace: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Only a path inside the console is followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with("/console/") && !next.starts_with("//") => next,
        _ => "/console/users",
    }
}

/// The pre-session value a form repeats: the browser's, or a new one to set.
fn pre_session(headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, PRE_COOKIE) {
        Some(value) => (value.to_owned(), None),
        None => {
            let value = uuid::Uuid::new_v4().simple().to_string();
            (value.clone(), Some(value))
        }
    }
}

fn with_pre_cookie(state: &AppState, fresh: Option<String>, page: Markup) -> Response {
    let mut response = page.into_response();
    if let Some(value) = fresh {
        response.headers_mut().append(
            SET_COOKIE,
            set_cookie(PRE_COOKIE, Some(&value), state.console.secure_cookies),
        );
    }
    response
}

fn sign_in_page(csrf: &str, form: &SignInForm, said: Option<&str>) -> Markup {
    let workspace = if form.workspace.is_empty() {
        roster_core::workspace::DEFAULT_WORKSPACE
    } else {
        &form.workspace
    };
    bare(
        "Sign in",
        &html! {
            @if let Some(said) = said { (problem(said)) }
            form method="post" action="/console/signin" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                @if let Some(next) = &form.next {
                    input type="hidden" name="next" value=(next);
                }
                label for="email" { "Email" }
                input #email type="email" name="email" value=(form.email) autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                label for="workspace" { "Workspace" }
                input #workspace type="text" name="workspace" value=(workspace) required;
                p { button type="submit" { "Sign in" } }
            }
            p.muted { "Only users with the admin role can sign in. A first admin is created with the setup link the server printed when it first started (or "
                code { "roster console setup-link" } ")." }
        },
    )
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> Response {
    let (csrf, fresh) = pre_session(&headers);
    let form = SignInForm {
        next: query.next,
        ..SignInForm::default()
    };
    with_pre_cookie(&state, fresh, sign_in_page(&csrf, &form, None))
}

/// A new session: its cookie set, the pre-session cookie and any workspace choice cleared.
fn signed_in(state: &AppState, token: &str, next: &str) -> Response {
    let secure = state.console.secure_cookies;
    let mut response = Redirect::to(next).into_response();
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, set_cookie(SESSION_COOKIE, Some(token), secure));
    headers.append(SET_COOKIE, set_cookie(PRE_COOKIE, None, secure));
    headers.append(
        SET_COOKIE,
        set_cookie(session::WORKSPACE_COOKIE, None, secure),
    );
    response
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    origin: RequestOrigin,
    Form(form): Form<SignInForm>,
) -> Response {
    let csrf = cookie(&headers, PRE_COOKIE).unwrap_or_default().to_owned();
    let workspace = match state.roster.find_workspace(form.workspace.trim()).await {
        Ok(workspace) => workspace,
        Err(_) => {
            let said = "There is no workspace with this name.";
            return (
                StatusCode::UNAUTHORIZED,
                sign_in_page(&csrf, &form, Some(said)),
            )
                .into_response();
        }
    };
    let attempt = state
        .roster
        .console_sign_in(
            &workspace,
            &origin.0,
            Some(form.email.clone()),
            Some(form.password.clone()),
        )
        .await;
    match attempt {
        Ok(issued) => signed_in(&state, &issued.token, safe_next(form.next.as_deref())),
        Err(err) => {
            let said = match err.code {
                roster_core::Code::InvalidCredentials => {
                    "The email or password is incorrect, or this user may not use the console."
                }
                _ => err.message.as_str(),
            };
            let status = crate::error::kind_status(err.kind());
            let form = SignInForm {
                password: String::new(),
                ..form
            };
            (status, sign_in_page(&csrf, &form, Some(said))).into_response()
        }
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    origin: RequestOrigin,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        // An ended or unknown session is signed out already.
        let _ = state.roster.sign_out(&origin.0, token).await;
    }
    let mut response = Redirect::to("/console/signin").into_response();
    let secure = state.console.secure_cookies;
    response
        .headers_mut()
        .append(SET_COOKIE, set_cookie(SESSION_COOKIE, None, secure));
    response.headers_mut().append(
        SET_COOKIE,
        set_cookie(session::WORKSPACE_COOKIE, None, secure),
    );
    response
}

#[derive(Debug, Default, Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn setup_page(csrf: &str, workspace: &str, form: &SetupForm, said: Option<&str>) -> Markup {
    bare(
        "Create the first console admin",
        &html! {
            p { "Workspace " strong { (workspace) } ". This link works once; the admin you create signs in with the email and password below." }
            @if let Some(said) = said { (problem(said)) }
            form method="post" action="/console/setup" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                input type="hidden" name="token" value=(form.token);
                label for="name" { "Name" }
                input #name type="text" name="name" value=(form.name) autocomplete="name" required autofocus;
                label for="email" { "Email" }
                input #email type="email" name="email" value=(form.email) autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="new-password" minlength="8" required;
                label for="confirm" { "Password again" }
                input #confirm type="password" name="confirm" autocomplete="new-password" required;
                p { button type="submit" { "Create admin and sign in" } }
            }
        },
    )
}

pub async fn setup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SetupQuery>,
) -> Response {
    let workspace = match state.roster.console_setup_workspace(&query.token).await {
        Ok(workspace) => workspace,
        Err(err) => return layout::error_response(&err),
    };
    let (csrf, fresh) = pre_session(&headers);
    let form = SetupForm {
        token: query.token,
        ..SetupForm::default()
    };
    with_pre_cookie(
        &state,
        fresh,
        setup_page(&csrf, &workspace.name, &form, None),
    )
}

pub async fn setup_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    origin: RequestOrigin,
    Form(form): Form<SetupForm>,
) -> Response {
    let csrf = cookie(&headers, PRE_COOKIE).unwrap_or_default().to_owned();
    let workspace = match state.roster.console_setup_workspace(&form.token).await {
        Ok(workspace) => workspace,
        Err(err) => return layout::error_response(&err),
    };
    let again = |said: &str, status: StatusCode| {
        let form = SetupForm {
            password: String::new(),
            confirm: String::new(),
            token: form.token.clone(),
            name: form.name.clone(),
            email: form.email.clone(),
        };
        (
            status,
            setup_page(&csrf, &workspace.name, &form, Some(said)),
        )
            .into_response()
    };
    if form.password != form.confirm {
        return again("The two passwords differ.", StatusCode::BAD_REQUEST);
    }
    let admin = SetupAdmin {
        name: Some(form.name.clone()),
        email: Some(form.email.clone()),
        password: Some(form.password.clone()),
    };
    let (workspace, _) = match state
        .roster
        .set_up_console(&origin.0, &form.token, admin)
        .await
    {
        Ok(made) => made,
        Err(err) if err.kind() == roster_core::ErrorKind::Gone => {
            return layout::error_response(&err)
        }
        Err(err) => return again(&err.message, crate::error::kind_status(err.kind())),
    };
    match state
        .roster
        .console_sign_in(&workspace, &origin.0, Some(form.email), Some(form.password))
        .await
    {
        Ok(issued) => signed_in(&state, &issued.token, "/console/users"),
        Err(err) => layout::error_response(&err),
    }
}

#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    workspace: String,
}

/// An operator admin looks at another workspace (a cookie); anyone else is told there is
/// no such workspace.
pub async fn switch_workspace(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<SwitchForm>,
) -> Response {
    match state
        .roster
        .console_workspace(&console.admin, Some(&form.workspace))
        .await
    {
        Ok(workspace) => {
            let mut response = Redirect::to("/console/users").into_response();
            response.headers_mut().append(
                SET_COOKIE,
                set_cookie(
                    session::WORKSPACE_COOKIE,
                    Some(&workspace.id),
                    state.console.secure_cookies,
                ),
            );
            response
        }
        Err(err) => layout::error_response(&err),
    }
}

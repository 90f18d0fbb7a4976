//! The console through the real router, on SQLite and PostgreSQL, without a browser: who may
//! sign in, the setup link's life, the CSRF check and the security headers. (The browser
//! tests, `console_browser.rs`, drive the pages themselves.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use roster_core::{AuditContext, AuditFilter, NewUser, Page, UserPatch, Workspace};
use tower::ServiceExt;

use common::App;

const PASSWORD: &str = "correct horse battery staple";

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &App, method: Method, uri: &str, cookie: &str, form: Option<&str>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if !cookie.is_empty() {
        request = request.header(header::COOKIE, cookie);
    }
    let request = match form {
        Some(form) => request
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned())),
        None => request.body(Body::empty()),
    };
    let response = app.router.clone().oneshot(request.unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn workspace(app: &App) -> Workspace {
    app.roster.find_workspace("default").await.unwrap()
}

async fn user_with_role(app: &App, email: &str, role: &str) -> String {
    let input = NewUser {
        name: Some(email.into()),
        email: Some(email.into()),
        role: Some(role.into()),
        send_invitation: Some(false),
        password: Some(PASSWORD.into()),
        ..NewUser::default()
    };
    let ws = workspace(app).await;
    let ctx = AuditContext::system();
    app.roster.create_user(&ws, &ctx, input).await.unwrap().id
}

/// A console session cookie of `email`.
async fn signed_in(app: &App, email: &str) -> String {
    let ws = workspace(app).await;
    let issued = app
        .roster
        .console_sign_in(
            &ws,
            &AuditContext::system(),
            Some(email.into()),
            Some(PASSWORD.into()),
        )
        .await
        .unwrap();
    format!("roster_console={}", issued.token)
}

/// The CSRF token a page shows its forms.
fn csrf_in(page: &str) -> String {
    let start =
        page.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    page[start..].split('"').next().unwrap().to_owned()
}

async fn only_admins_sign_in_to_the_console(app: App) {
    user_with_role(&app, "ada@example.com", "admin").await;
    user_with_role(&app, "vic@example.com", "viewer").await;
    let ws = workspace(&app).await;
    let ctx = AuditContext::system();
    let viewer = app
        .roster
        .console_sign_in(
            &ws,
            &ctx,
            Some("vic@example.com".into()),
            Some(PASSWORD.into()),
        )
        .await
        .unwrap_err();
    assert_eq!(viewer.code.as_str(), "invalid_credentials");
    let filter = AuditFilter {
        action: Some("user.login_failed".into()),
        ..AuditFilter::default()
    };
    let page = Page {
        limit: Some(10),
        cursor: None,
    };
    let failed = app
        .roster
        .list_audit_events(&ws, &filter, &page)
        .await
        .unwrap()
        .events;
    assert!(
        failed[0].changes.contains("missing_role"),
        "{}",
        failed[0].changes
    );

    // Through the form, with its pre-session cookie.
    let form = send(&app, Method::GET, "/console/signin", "", None).await;
    let pre = csrf_in(&form.body);
    let cookie = format!("roster_pre={pre}");
    let body = format!(
        "csrf={pre}&workspace=default&email=vic%40example.com&password={}",
        PASSWORD.replace(' ', "+")
    );
    let refused = send(&app, Method::POST, "/console/signin", &cookie, Some(&body)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.body.contains("may not use the console"),
        "{}",
        refused.body
    );
    let body = body.replace("vic%40", "ada%40");
    let admitted = send(&app, Method::POST, "/console/signin", &cookie, Some(&body)).await;
    assert_eq!(admitted.status, StatusCode::SEE_OTHER);
    let set = admitted
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let session = set
        .iter()
        .find(|c| c.starts_with("roster_console=ses_"))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(
        !session.contains("Secure"),
        "no Secure without an https public URL"
    );

    // A browser whose session ended still sends its old cookie: it signs in again all the same.
    let old = session.split(';').next().unwrap().to_owned();
    let token = old.trim_start_matches("roster_console=");
    app.roster
        .sign_out(&AuditContext::system(), token)
        .await
        .unwrap();
    let form = send(&app, Method::GET, "/console/signin", &old, None).await;
    let pre = csrf_in(&form.body);
    let cookies = format!("{old}; roster_pre={pre}");
    let body = format!(
        "csrf={pre}&workspace=default&email=ada%40example.com&password={}",
        PASSWORD.replace(' ', "+")
    );
    let again = send(&app, Method::POST, "/console/signin", &cookies, Some(&body)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
}

async fn an_admin_who_loses_the_role_loses_the_console(app: App) {
    let id = user_with_role(&app, "ada@example.com", "admin").await;
    let cookie = signed_in(&app, "ada@example.com").await;
    assert_eq!(
        send(&app, Method::GET, "/console/users", &cookie, None)
            .await
            .status,
        StatusCode::OK
    );
    let ws = workspace(&app).await;
    let patch = UserPatch {
        role: Some(Some("viewer".into())),
        ..UserPatch::default()
    };
    app.roster
        .update_user(&ws, &AuditContext::system(), id.as_str(), &patch)
        .await
        .unwrap();
    let after = send(&app, Method::GET, "/console/users", &cookie, None).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    let location = after.headers[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with("/console/signin?next="), "{location}");
}

async fn a_setup_link_works_once_within_a_day(app: App) {
    let ws = workspace(&app).await;
    let ctx = AuditContext::system();
    let expiring = app
        .roster
        .issue_console_setup_link(&ws, &ctx)
        .await
        .unwrap();
    let link = app
        .roster
        .issue_console_setup_link(&ws, &ctx)
        .await
        .unwrap();
    let path = format!("/console/setup?token={}", link.token);
    let form = send(&app, Method::GET, &path, "", None).await;
    assert_eq!(form.status, StatusCode::OK);
    let pre = csrf_in(&form.body);
    let cookie = format!("roster_pre={pre}");
    let body = format!(
        "csrf={pre}&token={}&name=Grace&email=grace%40example.com&password=long+enough+pw&confirm=long+enough+pw",
        link.token
    );
    let made = send(&app, Method::POST, "/console/setup", &cookie, Some(&body)).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let grace = app
        .roster
        .find_user_by_email(&ws, "grace@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (grace.role.as_str(), grace.status.as_str()),
        ("admin", "active")
    );

    let again = send(
        &app,
        Method::POST,
        "/console/setup",
        &cookie,
        Some(&body.replace("grace%40", "mallory%40")),
    )
    .await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("used already"), "{}", again.body);
    assert!(app
        .roster
        .find_user_by_email(&ws, "mallory@example.com")
        .await
        .unwrap()
        .is_none());

    app.clock.advance(chrono::Duration::hours(24));
    let late = send(
        &app,
        Method::GET,
        &format!("/console/setup?token={}", expiring.token),
        "",
        None,
    )
    .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert!(late.body.contains("expired"), "{}", late.body);
}

async fn state_changes_need_the_sessions_csrf_token(app: App) {
    user_with_role(&app, "ada@example.com", "admin").await;
    let cookie = signed_in(&app, "ada@example.com").await;
    let page = send(&app, Method::GET, "/console/users/new", &cookie, None).await;
    let csrf = csrf_in(&page.body);
    let form = "name=Eve&email=eve%40example.com&role=viewer&start=invite";
    let ws = workspace(&app).await;
    for (what, body) in [
        ("no token", form.to_owned()),
        ("another token", format!("csrf=AAAA{}&{form}", &csrf[4..])),
    ] {
        let refused = send(
            &app,
            Method::POST,
            "/console/users/new",
            &cookie,
            Some(&body),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{what}");
        assert!(
            app.roster
                .find_user_by_email(&ws, "eve@example.com")
                .await
                .unwrap()
                .is_none(),
            "{what}"
        );
    }
    let made = send(
        &app,
        Method::POST,
        "/console/users/new",
        &cookie,
        Some(&format!("csrf={csrf}&{form}")),
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert!(app
        .roster
        .find_user_by_email(&ws, "eve@example.com")
        .await
        .unwrap()
        .is_some());
}

async fn console_answers_carry_the_security_headers(app: App) {
    user_with_role(&app, "ada@example.com", "admin").await;
    let cookie = signed_in(&app, "ada@example.com").await;
    for path in ["/console/signin", "/console/users", "/console/no-such-page"] {
        let answer = send(&app, Method::GET, path, &cookie, None).await;
        let csp = answer.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert_eq!(answer.headers["x-frame-options"], "DENY", "{path}");
        assert!(
            answer.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(
            !answer.body.contains("<script>") && !answer.body.contains(" style="),
            "{path}: no inline script or style"
        );
    }
    let unknown = send(&app, Method::GET, "/console/no-such-page", &cookie, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let anonymous = send(&app, Method::GET, "/console/users", "", None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

async fn settings_and_clients_change_through_their_forms(app: App) {
    user_with_role(&app, "ada@example.com", "admin").await;
    let cookie = signed_in(&app, "ada@example.com").await;
    let page = send(&app, Method::GET, "/console/settings", &cookie, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = csrf_in(&page.body);
    let form = format!("csrf={csrf}&min_password_length=12&check_common_passwords=on&session_idle_minutes=30&session_lifetime_hours=&session_limit_policy=refuse");
    let saved = send(
        &app,
        Method::POST,
        "/console/settings/auth",
        &cookie,
        Some(&form),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let ws = workspace(&app).await;
    assert_eq!(ws.auth.min_password_length, Some(12));
    assert_eq!(ws.auth.session_idle_minutes, Some(30));
    assert_eq!(ws.auth.check_common_passwords, Some(true));
    let bad = format!("csrf={csrf}&rate_limit_per_minute=lots&audit_retention_days=90");
    let refused = send(
        &app,
        Method::POST,
        "/console/settings/limits",
        &cookie,
        Some(&bad),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("must be a whole number"),
        "{}",
        refused.body
    );

    let form = format!("csrf={csrf}&name=zapier&scope=users%3Aread&admin_api=on");
    let made = send(&app, Method::POST, "/console/clients", &cookie, Some(&form)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(made.body.contains("shown only this once"));
    let clients = app.roster.list_api_clients(&ws).await.unwrap();
    assert_eq!(clients.len(), 1);
    assert!(clients[0].admin_api_enabled);
    let listed = send(&app, Method::GET, "/console/clients", &cookie, None).await;
    assert!(listed.body.contains(&clients[0].client_id) && listed.body.contains("zapier"));
}

async fn the_count_is_exact_unfiltered_and_stops_when_filtered(app: App) {
    user_with_role(&app, "ada@example.com", "admin").await;
    let cap = roster_core::console::COUNT_CAP as usize;
    let mut lines = String::from("email,name,role\n");
    for n in 0..=cap {
        lines.push_str(&format!("many{n}@example.com,Many {n},viewer\n"));
    }
    let imported = app
        .call_raw(Method::POST, "/v1/users/import?format=csv", Some(lines))
        .await;
    assert_eq!(
        imported.body["data"]["created"],
        cap + 1,
        "{}",
        imported.body
    );
    let cookie = signed_in(&app, "ada@example.com").await;
    let all = send(&app, Method::GET, "/console/users", &cookie, None).await;
    assert!(
        all.body.contains(&format!("{} users", cap + 2)),
        "exact without a filter"
    );
    let many = send(&app, Method::GET, "/console/users?q=many", &cookie, None).await;
    assert!(
        many.body.contains(&format!("More than {cap} users match")),
        "stops past the cap"
    );
    let few = send(&app, Method::GET, "/console/users?q=many12", &cookie, None).await;
    // many12, many120..many129 (and more when the cap is larger): one page, its own count.
    let exact = (0..=cap)
        .filter(|n| n.to_string().starts_with("12"))
        .count();
    assert!(
        few.body.contains(&format!("{exact} users")),
        "{exact} exact on one page"
    );
}

on_both_stores!(
    the_count_is_exact_unfiltered_and_stops_when_filtered,
    settings_and_clients_change_through_their_forms,
    only_admins_sign_in_to_the_console,
    an_admin_who_loses_the_role_loses_the_console,
    a_setup_link_works_once_within_a_day,
    state_changes_need_the_sessions_csrf_token,
    console_answers_carry_the_security_headers,
);

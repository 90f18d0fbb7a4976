//! The console in a real browser: headless Debian Chromium driven over WebDriver
//! (chromedriver), against the real router served on a loopback port. Without Chromium and
//! chromedriver these tests print why and pass, except in CI (`CI` or
//! `ROSTER_TEST_REQUIRE_BROWSER` set; `.ci/run` sets it and installs both), where they fail.
//! Each test saves a screenshot under `target/console-screenshots/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use roster_core::{AuditContext, AuditFilter, NewUser, Page, Workspace};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ADMIN_EMAIL: &str = "ada@example.com";
const ADMIN_PASSWORD: &str = "correct horse battery staple";
/// How long a page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(15);

/// A server, a chromedriver and a browser session, stopped when dropped.
struct Browser {
    app: common::App,
    base: String,
    client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until `check` is true, or fail after [`PATIENCE`] saying `what`.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Browser {
    /// The app served on a loopback port and a browser pointed at it; `None` (with the reason
    /// printed) where there is no Chromium, outside CI.
    async fn start() -> Option<Self> {
        if !(std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists())
        {
            assert!(
                std::env::var_os("ROSTER_TEST_REQUIRE_BROWSER").is_none()
                    && std::env::var_os("CI").is_none(),
                "CI needs Chromium and chromedriver ({CHROMIUM}, {CHROMEDRIVER}); .ci/run installs them"
            );
            eprintln!("skipped: no {CHROMIUM} or {CHROMEDRIVER} (apt-get install chromium chromium-driver)");
            return None;
        }
        let app = common::app().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app.router.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let client = loop {
            match ClientBuilder::rustls()
                .unwrap()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(err) => {
                    assert!(
                        start.elapsed() < PATIENCE,
                        "chromedriver did not start: {err}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let browser = Self {
            app,
            base,
            client,
            driver,
        };
        browser.make_admin().await;
        Some(browser)
    }

    async fn workspace(&self) -> Workspace {
        self.app.roster.find_workspace("default").await.unwrap()
    }

    async fn make_admin(&self) {
        let input = NewUser {
            name: Some("Ada Admin".into()),
            email: Some(ADMIN_EMAIL.into()),
            role: Some("admin".into()),
            send_invitation: Some(false),
            password: Some(ADMIN_PASSWORD.into()),
            ..NewUser::default()
        };
        let ws = self.workspace().await;
        self.app
            .roster
            .create_user(&ws, &AuditContext::system(), input)
            .await
            .unwrap();
    }

    async fn user(&self, name: &str, email: &str) -> String {
        let input = NewUser {
            name: Some(name.into()),
            email: Some(email.into()),
            role: Some("viewer".into()),
            send_invitation: Some(false),
            ..NewUser::default()
        };
        let ws = self.workspace().await;
        let ctx = AuditContext::system();
        let user = self.app.roster.create_user(&ws, &ctx, input);
        user.await.unwrap().id
    }

    async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Wait until the page holds `text`.
    async fn wait_for_text(&self, text: &str) {
        until(&format!("\"{text}\" on the page"), || async {
            self.source().await.contains(text)
        })
        .await;
    }

    async fn sign_in(&self, email: &str, password: &str) {
        self.go("/console/signin").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form button[type=submit]").await;
    }

    async fn sign_in_as_admin(&self) {
        self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        until("the users page", || async {
            self.path().await == "/console/users"
        })
        .await;
    }

    /// Click a button whose form asks for confirmation, and accept it.
    async fn click_confirmed(&self, css: &str) {
        self.click(css).await;
        self.client.accept_alert().await.unwrap();
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn events(&self, action: &str) -> Vec<roster_core::AuditEvent> {
        let filter = AuditFilter {
            action: Some(action.into()),
            ..AuditFilter::default()
        };
        let page = Page {
            limit: Some(100),
            cursor: None,
        };
        let ws = self.workspace().await;
        self.app
            .roster
            .list_audit_events(&ws, &filter, &page)
            .await
            .unwrap()
            .events
    }

    async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_a_good_and_a_bad_password() {
    let Some(b) = Browser::start().await else {
        return;
    };
    b.sign_in(ADMIN_EMAIL, "not the password").await;
    b.wait_for_text("The email or password is incorrect").await;
    assert_eq!(b.path().await, "/console/signin");
    b.screenshot("signin-refused").await;
    b.sign_in_as_admin().await;
    b.wait_for_text("Ada Admin").await;
    b.click("form[action='/console/signout'] button").await;
    until("the sign-in page after sign-out", || async {
        b.path().await == "/console/signin"
    })
    .await;
    b.go("/console/users").await;
    assert_eq!(
        b.path().await,
        "/console/signin",
        "signed out means signed out"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_link_works_once() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let ws = b.workspace().await;
    let link = b
        .app
        .roster
        .issue_console_setup_link(&ws, &AuditContext::system())
        .await
        .unwrap();
    b.go(&format!("/console/setup?token={}", link.token)).await;
    b.fill("#name", "Grace Hopper").await;
    b.fill("#email", "grace@example.com").await;
    b.fill("#password", "a long enough password").await;
    b.fill("#confirm", "a long enough password").await;
    b.screenshot("setup").await;
    b.click("form button[type=submit]").await;
    until("the users page after setup", || async {
        b.path().await == "/console/users"
    })
    .await;
    b.wait_for_text("grace@example.com").await;
    b.go(&format!("/console/setup?token={}", link.token)).await;
    b.wait_for_text("This setup link was used already").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_narrows_the_table() {
    let Some(b) = Browser::start().await else {
        return;
    };
    for (name, email) in [
        ("Ann Lee", "ann@example.com"),
        ("Bob Stone", "bob@example.com"),
        ("Carla Diaz", "carla@example.com"),
    ] {
        b.user(name, email).await;
    }
    b.sign_in_as_admin().await;
    let rows = || async {
        b.client
            .find_all(Locator::Css("#results tbody tr td a"))
            .await
            .unwrap()
            .len()
    };
    assert_eq!(rows().await, 4, "three users and the admin");
    b.screenshot("users").await;
    b.fill("#q", "carl").await;
    until("the table to narrow to one user", || async {
        rows().await == 1
    })
    .await;
    b.wait_for_text("Carla Diaz").await;
    assert!(!b.source().await.contains("Bob Stone"));
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains("q=carl"),
        "the search is in the address"
    );
    b.screenshot("users-search").await;

    // At 360 px wide the page does not scroll sideways (the table scrolls in its own box).
    b.client.set_window_size(360, 800).await.unwrap();
    b.go("/console/users").await;
    let width = b
        .client
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_u64().unwrap() <= 360,
        "the page is {width} px wide at 360"
    );
    b.screenshot("users-360").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_user_then_deactivate_and_reactivate_it() {
    let Some(b) = Browser::start().await else {
        return;
    };
    b.sign_in_as_admin().await;
    b.go("/console/users/new").await;
    b.fill("#name", "Dora Marsh").await;
    b.fill("#email", "dora@example.com").await;
    b.click("input[name=start][value=active]").await;
    b.fill("#password", "dora's own password").await;
    b.click("main form button[type=submit]").await;
    b.wait_for_text("The user was created.").await;
    let id = b.path().await.rsplit('/').next().unwrap().to_owned();
    b.click_confirmed(&format!(
        "form[action='/console/users/{id}/do/deactivate'] button"
    ))
    .await;
    b.wait_for_text("The user was deactivated").await;
    b.click_confirmed(&format!(
        "form[action='/console/users/{id}/do/reactivate'] button"
    ))
    .await;
    b.wait_for_text("The user was reactivated.").await;
    b.screenshot("user").await;
    assert_eq!(b.events("user.deactivate").await.len(), 1);
    assert_eq!(b.events("user.reactivate").await.len(), 1);

    // The audit view shows the events just made, with the admin as the actor.
    b.go("/console/audit").await;
    b.wait_for_text("user.reactivate").await;
    let page = b.source().await;
    assert!(
        page.contains("user.deactivate") && page.contains("user.create"),
        "{page}"
    );
    b.screenshot("audit").await;
    let deactivations = b.events("user.deactivate").await;
    assert_eq!(deactivations[0].actor_kind, "user");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_deactivating_three_users_makes_three_events() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            b.user(&format!("Bulk {n}"), &format!("bulk{n}@example.com"))
                .await,
        );
    }
    b.user("Stays Active", "stays@example.com").await;
    b.sign_in_as_admin().await;
    for id in &ids {
        b.click(&format!("input[name=ids][value='{id}']")).await;
    }
    b.click("#bulk button[type=submit]").await;
    b.wait_for_text("finished").await;
    b.wait_for_text("Every user was changed").await;
    b.screenshot("bulk").await;
    let events = b.events("user.deactivate").await;
    assert_eq!(events.len(), 3);
    let mut targets: Vec<String> = events
        .iter()
        .filter_map(|e| e.target_user_id.clone())
        .collect();
    targets.sort();
    ids.sort();
    assert_eq!(targets, ids, "exactly the selected users");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_with_a_bad_row_names_its_line() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "email,name,role\nimp1@example.com,Imp One,viewer\nnot-an-email,Broken Row,viewer\nimp3@example.com,Imp Three,viewer\n",
    )
    .unwrap();
    b.sign_in_as_admin().await;
    b.go("/console/import").await;
    let input = b.client.find(Locator::Css("#file")).await.unwrap();
    input.send_keys(file.to_str().unwrap()).await.unwrap();
    b.click("form[data-upload] button[type=submit]").await;
    b.wait_for_text("Line 3").await;
    let page = b.source().await;
    assert!(page.contains("1 of 3 rows were rejected"), "{page}");
    b.screenshot("import").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_keys_secret_is_shown_exactly_once() {
    let Some(b) = Browser::start().await else {
        return;
    };
    b.sign_in_as_admin().await;
    b.go("/console/keys").await;
    b.fill("#key-name", "okta").await;
    b.click("input[name=scope][value=scim]").await;
    b.click("main form button[type=submit]").await;
    b.wait_for_text("shown only this once").await;
    let secret = b
        .client
        .find(Locator::Css("#new-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(secret.starts_with("sk_live_"), "{secret}");
    b.screenshot("key-secret").await;
    b.go("/console/keys").await;
    b.wait_for_text("okta").await;
    assert!(
        !b.source().await.contains(&secret),
        "the secret is never shown again"
    );
    assert!(
        b.app.roster.authenticate(&secret).await.is_ok(),
        "the shown secret works"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_csrf_token_is_refused() {
    let Some(b) = Browser::start().await else {
        return;
    };
    b.sign_in_as_admin().await;
    let status = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/console/users/new', {method: 'POST', credentials: 'same-origin',
                 headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                 body: 'name=Eve&email=eve%40example.com&role=viewer&start=invite'})
               .then(r => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));
    let ws = b.workspace().await;
    let eve = b
        .app
        .roster
        .find_user_by_email(&ws, "eve@example.com")
        .await
        .unwrap();
    assert!(eve.is_none(), "nothing was created");
    b.screenshot("csrf-refused").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workspaces_user_is_not_found() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let other = b
        .app
        .roster
        .create_workspace(&AuditContext::system(), "globex", None)
        .await
        .unwrap();
    let input = NewUser {
        name: Some("Outsider".into()),
        email: Some("out@globex.example".into()),
        role: Some("viewer".into()),
        send_invitation: Some(false),
        ..NewUser::default()
    };
    let outsider = b
        .app
        .roster
        .create_user(&other, &AuditContext::system(), input)
        .await
        .unwrap();
    b.sign_in_as_admin().await;
    let status = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => done(r.status));",
            vec![json!(format!("/console/users/{}", outsider.id))],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(404));
    b.go(&format!("/console/users/{}", outsider.id)).await;
    b.wait_for_text("Not found").await;
    assert!(!b.source().await.contains("Outsider"));
    b.screenshot("other-workspace-404").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_for_a_signed_in_admin() {
    let Some(b) = Browser::start().await else {
        return;
    };
    b.user("Page Visitor", "visitor@example.com").await;
    b.sign_in_as_admin().await;
    for (path, title, shot) in [
        ("/console/users/new", "Create or invite a user", "user-new"),
        ("/console/groups", "Groups", "groups"),
        ("/console/import", "Import & export", "import-form"),
        ("/console/keys", "API keys", "keys"),
        ("/console/clients", "API clients", "clients"),
        ("/console/audit", "Audit log", "audit-log"),
        ("/console/outbox", "Outbox", "outbox"),
        ("/console/settings", "Settings", "settings"),
    ] {
        b.go(path).await;
        let heading = b.client.find(Locator::Css("main h1")).await.unwrap();
        assert_eq!(heading.text().await.unwrap(), title, "{path}");
        let section = b
            .client
            .find(Locator::Css("nav a[aria-current=page]"))
            .await;
        assert!(
            section.is_ok(),
            "{path} marks its section in the navigation"
        );
        b.screenshot(shot).await;
    }
    b.close().await;
}

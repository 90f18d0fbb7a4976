//! Seed 004 (`/integration-api/v1/dashboard/users…`, force logout): every request the seed
//! shows, replayed with the test's own ids and token, on SQLite and PostgreSQL, then the cases
//! it implies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{App, Reply};
use serde_json::{json, Value};

on_both_stores!(
    create_as_the_seed_writes_it,
    list_update_deactivate_reactivate_and_force_logout,
    implied_cases_answer_in_the_dialect_format,
);

/// The seed's example create body, as written (comments, trailing comma), with a real email.
const SEED_CREATE: &str = r#"{
"email":"reader@example.com",
"external_id":"user-id-in-your-platform",
"new_password":"Abcd1234",
"sessions_limit":null, //if you need to limit the simultaneous user sessions, here you must enter an integer no greater than 999999
"assign_new_plan": null, //if you need to assign a plan, you must enter the plan_id here
"new_plan_custom_valid_to":"", //Accepted date format: yyyy-mm-dd
"admin":false,
"plan_admin":false,
"only_sees_readable":true,
}"#;

async fn call(
    app: &App,
    token: Option<&str>,
    method: Method,
    uri: &str,
    body: Option<String>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("X-User-Token", token);
    }
    let request = request
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    app.send(request).await
}

async fn seed(app: &App, method: Method, uri: &str, body: Option<String>) -> Reply {
    call(app, Some(&app.key), method, uri, body).await
}

#[track_caller]
fn assert_success(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["CODE"], "success");
    reply.body["data"].clone()
}

async fn create_as_the_seed_writes_it(app: App) {
    let reply = seed(
        &app,
        Method::POST,
        "/integration-api/v1/dashboard/users/",
        Some(SEED_CREATE.into()),
    )
    .await;
    let data = assert_success(&reply);
    assert!(data["id"].as_i64().unwrap() > 0);
    assert_eq!(data["email"], "reader@example.com");
    assert_eq!(data["uuid"].as_str().unwrap().len(), 36);
    let gravatar = format!(
        "https://www.gravatar.com/avatar/{:032x}?s=160&d=mm&r=g",
        md5_of("reader@example.com")
    );
    assert_eq!(data["picture"], gravatar.as_str());
    assert_eq!(
        (
            data["admin"].as_bool(),
            data["plan_admin"].as_bool(),
            data["only_sees_readable"].as_bool()
        ),
        (Some(false), Some(false), Some(true))
    );
    assert_eq!(data["sessions_limit"], Value::Null);
    assert_eq!(
        data["created_at"],
        json!({"timestamp": 1_731_659_400, "date": "2024-11-15 08:30:00", "timezone": "UTC"})
    );
    assert_eq!(data["deleted_at"], Value::Null);
    // The password works: the user can sign in, and it is active.
    let signed_in = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "reader@example.com", "password": "Abcd1234"})),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::CREATED, "{}", signed_in.body);
    // The same user through the native API.
    let native = app
        .call(
            Method::GET,
            "/v1/users/lookup?email=reader@example.com",
            None,
        )
        .await;
    assert_eq!(
        (
            native.body["external_id"].as_str(),
            native.body["role"].as_str()
        ),
        (Some("user-id-in-your-platform"), Some("viewer"))
    );
    assert_eq!(native.body["attributes"]["only_sees_readable"], true);

    // With a plan valid to a date: a group membership ending that day.
    let group = app
        .call(Method::POST, "/v1/groups", Some(json!({"name": "Gold"})))
        .await
        .body;
    let plan_id = app
        .roster
        .get_group(
            &app.roster.find_workspace("default").await.unwrap(),
            group["id"].as_str().unwrap(),
        )
        .await
        .unwrap()
        .key;
    let body = json!({"email": "gold@example.com", "external_id": "gold-1", "new_password": "Abcd1234",
                      "sessions_limit": 3, "assign_new_plan": plan_id, "new_plan_custom_valid_to": "2025-01-31",
                      "admin": true, "plan_admin": 1, "only_sees_readable": 0});
    let data = assert_success(
        &seed(
            &app,
            Method::POST,
            "/integration-api/v1/dashboard/users",
            Some(body.to_string()),
        )
        .await,
    );
    assert_eq!(
        (
            data["admin"].as_bool(),
            data["plan_admin"].as_bool(),
            data["sessions_limit"].as_i64()
        ),
        (Some(true), Some(true), Some(3))
    );
    let list = seed(
        &app,
        Method::GET,
        "/integration-api/v1/dashboard/users?email=gold@example.com",
        None,
    )
    .await;
    let listed = &assert_success(&list)["paginator"]["data"][0];
    assert_eq!(listed["user_plans_count"], 1);
    assert_eq!(
        listed["user_plans"][0]["valid_to"],
        "2025-02-01T00:00:00.000000Z"
    );
}

fn md5_of(text: &str) -> u128 {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(text.as_bytes()).into())
}

async fn list_update_deactivate_reactivate_and_force_logout(app: App) {
    let mut ids = Vec::new();
    for n in 0..3 {
        let body = json!({"email": format!("u{n}@example.com"), "external_id": format!("ext-{n}"), "new_password": "Abcd1234", "admin": n == 0});
        ids.push(
            assert_success(
                &seed(
                    &app,
                    Method::POST,
                    "/integration-api/v1/dashboard/users/",
                    Some(body.to_string()),
                )
                .await,
            )["id"]
                .as_i64()
                .unwrap(),
        );
    }
    // GET with the paginator.
    let data = assert_success(
        &seed(
            &app,
            Method::GET,
            "/integration-api/v1/dashboard/users?per_page=2",
            None,
        )
        .await,
    );
    let paginator = &data["paginator"];
    assert_eq!(paginator["current_page"], 1);
    assert_eq!(paginator["data"].as_array().unwrap().len(), 2);
    assert_eq!(paginator["data"][0]["id"], ids[2]);
    let item = &paginator["data"][0];
    for field in [
        "uuid",
        "admin",
        "plan_admin",
        "email",
        "sessions_limit",
        "only_sees_readable",
        "picture",
        "created_at",
        "updated_at",
        "deleted_at",
        "purchased_issues_with_cancelled_count",
        "user_plans_count",
        "can_be_edited",
        "created_at_date_string",
        "sessions",
        "ip_ranges",
        "referrers",
        "purchased_issues_with_cancelled",
        "user_plans",
    ] {
        assert!(item.get(field).is_some(), "{field} missing: {item}");
    }
    assert_eq!(item["created_at"], "2024-11-15T08:30:00.000000Z");
    assert_eq!(item["created_at_date_string"], "2024-11-15");
    assert_eq!(
        paginator["next_page_url"],
        "/integration-api/v1/dashboard/users?page=2"
    );
    let page2 = assert_success(
        &seed(
            &app,
            Method::GET,
            "/integration-api/v1/dashboard/users?per_page=2&page=2",
            None,
        )
        .await,
    );
    assert_eq!(page2["paginator"]["data"][0]["id"], ids[0]);
    assert_eq!(page2["paginator"]["next_page_url"], Value::Null);
    let admins = assert_success(
        &seed(
            &app,
            Method::GET,
            "/integration-api/v1/dashboard/users/?query=admins",
            None,
        )
        .await,
    );
    assert_eq!(admins["paginator"]["data"].as_array().unwrap().len(), 1);
    let by_email = assert_success(
        &seed(
            &app,
            Method::GET,
            "/integration-api/v1/dashboard/users?email=u1@example.com",
            None,
        )
        .await,
    );
    assert_eq!(by_email["paginator"]["data"][0]["id"], ids[1]);

    // PUT: 204.
    let body = json!({"external_id": "ext-1b", "email": "u1b@example.com", "sessions_limit": 2, "admin": 1, "only_sees_readable": 1});
    let reply = seed(
        &app,
        Method::PUT,
        &format!("/integration-api/v1/dashboard/users/{}", ids[1]),
        Some(body.to_string()),
    )
    .await;
    assert_eq!(
        (reply.status, &reply.body),
        (StatusCode::NO_CONTENT, &Value::Null)
    );
    let native = app
        .call(Method::GET, "/v1/users/lookup?email=u1b@example.com", None)
        .await
        .body;
    assert_eq!(
        (
            native["external_id"].as_str(),
            native["role"].as_str(),
            native["sessions_limit"].as_i64()
        ),
        (Some("ext-1b"), Some("admin"), Some(2))
    );

    // Force logout by id and by external id.
    for _ in 0..2 {
        app.call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "u2@example.com", "password": "Abcd1234"})),
        )
        .await;
    }
    let data = assert_success(
        &seed(
            &app,
            Method::POST,
            &format!("/integration-api/v1/users/{}/force-logout", ids[2]),
            None,
        )
        .await,
    );
    assert_eq!(data["sessions_ended"], 2);
    app.call(
        Method::POST,
        "/v1/sessions",
        Some(json!({"email": "u2@example.com", "password": "Abcd1234"})),
    )
    .await;
    let data = assert_success(
        &seed(
            &app,
            Method::POST,
            "/integration-api/v1/users/ext-2/force-logout",
            None,
        )
        .await,
    );
    assert_eq!(data["sessions_ended"], 1);

    // DELETE deactivates: data []; the user can no longer sign in, and is listed as deactivated.
    let data = assert_success(
        &seed(
            &app,
            Method::DELETE,
            &format!("/integration-api/v1/dashboard/users/{}", ids[2]),
            None,
        )
        .await,
    );
    assert_eq!(data, json!([]));
    let refused = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "u2@example.com", "password": "Abcd1234"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let deactivated = assert_success(
        &seed(
            &app,
            Method::GET,
            "/integration-api/v1/dashboard/users?query=deactivated",
            None,
        )
        .await,
    );
    assert_eq!(deactivated["paginator"]["data"][0]["id"], ids[2]);
    // The email filter as clients of the document send it: `email=` or `query=`.
    for uri in [
        "/integration-api/v1/dashboard/users?email=u2@example.com",
        "/integration-api/v1/dashboard/users?query=u2@example.com",
    ] {
        let found = assert_success(&seed(&app, Method::GET, uri, None).await);
        let listed = found["paginator"]["data"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{uri}: {found}");
        assert_eq!(listed[0]["email"], "u2@example.com");
    }
    let unknown = seed(
        &app,
        Method::GET,
        "/integration-api/v1/dashboard/users?query=everyone",
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    // PUT …/re-activate: data 1.
    let data = assert_success(
        &seed(
            &app,
            Method::PUT,
            &format!("/integration-api/v1/dashboard/users/{}/re-activate", ids[2]),
            None,
        )
        .await,
    );
    assert_eq!(data, json!(1));
    let native = app
        .call(Method::GET, "/v1/users/lookup?email=u2@example.com", None)
        .await
        .body;
    assert_eq!(native["status"], "active");
}

async fn implied_cases_answer_in_the_dialect_format(app: App) {
    // 401 when unauthenticated.
    let reply = call(
        &app,
        None,
        Method::GET,
        "/integration-api/v1/dashboard/users",
        None,
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Unauthenticated."))
    );
    let reply = call(
        &app,
        Some("sk_live_nope"),
        Method::GET,
        "/integration-api/v1/dashboard/users",
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // 422 with the reasons.
    for (body, field) in [
        (json!({"external_id": "x"}), "email"),
        (json!({"email": "a@example.com"}), "external_id"),
        (
            json!({"email": "not-an-email", "external_id": "x"}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "external_id": "x", "sessions_limit": -1}),
            "sessions_limit",
        ),
        (
            json!({"email": "a@example.com", "external_id": "x", "sessions_limit": 1_000_000}),
            "sessions_limit",
        ),
        (
            json!({"email": "a@example.com", "external_id": "x", "new_password": "short"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "external_id": "x", "assign_new_plan": 999_999}),
            "assign_new_plan",
        ),
        (
            json!({"email": "a@example.com", "external_id": "x", "admin": "maybe"}),
            "admin",
        ),
    ] {
        let reply = seed(
            &app,
            Method::POST,
            "/integration-api/v1/dashboard/users",
            Some(body.to_string()),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert!(
            reply.body["errors"][field].is_array(),
            "{field}: {}",
            reply.body
        );
    }
    let reply = seed(
        &app,
        Method::POST,
        "/integration-api/v1/dashboard/users",
        Some("{not json".into()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let group = app
        .call(Method::POST, "/v1/groups", Some(json!({"name": "Gold"})))
        .await
        .body;
    let plan_id = app
        .roster
        .get_group(
            &app.roster.find_workspace("default").await.unwrap(),
            group["id"].as_str().unwrap(),
        )
        .await
        .unwrap()
        .key;
    let past = json!({"email": "a@example.com", "external_id": "x", "assign_new_plan": plan_id, "new_plan_custom_valid_to": "2020-01-01"});
    let reply = seed(
        &app,
        Method::POST,
        "/integration-api/v1/dashboard/users",
        Some(past.to_string()),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    // Nothing was created by the refused calls.
    let listed = assert_success(
        &seed(
            &app,
            Method::GET,
            "/integration-api/v1/dashboard/users",
            None,
        )
        .await,
    );
    assert_eq!(listed["paginator"]["data"], json!([]));
    // 404 for unknown ids, and for another workspace's.
    for uri in [
        "/integration-api/v1/dashboard/users/999999",
        "/integration-api/v1/dashboard/users/abc",
    ] {
        let reply = seed(&app, Method::DELETE, uri, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    }
    let reply = seed(
        &app,
        Method::POST,
        "/integration-api/v1/users/nobody/force-logout",
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let other = app
        .roster
        .create_workspace(&roster_core::AuditContext::operator(), "other", None)
        .await
        .unwrap();
    let other_key = app.key_in(&other, &["admin"]).await;
    let foreign = call(
        &app,
        Some(&other_key),
        Method::POST,
        "/integration-api/v1/dashboard/users",
        Some(json!({"email": "f@example.com", "external_id": "f"}).to_string()),
    )
    .await;
    let foreign_id = assert_success(&foreign)["id"].as_i64().unwrap();
    let reply = seed(
        &app,
        Method::PUT,
        &format!("/integration-api/v1/dashboard/users/{foreign_id}/re-activate"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // A duplicate email is a conflict in this dialect's envelope.
    let body = json!({"email": "dup@example.com", "external_id": "d1"}).to_string();
    assert_success(
        &seed(
            &app,
            Method::POST,
            "/integration-api/v1/dashboard/users",
            Some(body),
        )
        .await,
    );
    let body = json!({"email": "dup@example.com", "external_id": "d2"}).to_string();
    let reply = seed(
        &app,
        Method::POST,
        "/integration-api/v1/dashboard/users",
        Some(body),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["CODE"].as_str()),
        (StatusCode::CONFLICT, Some("email_taken"))
    );
}

//! The conformance cases. Each takes a fresh, migrated store.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use roster_core::audit::{Action, AuditQuery, NewEvent};
use roster_core::keys::{self, ApiKey};
use roster_core::signing::SigningKey;
use roster_core::store::{ImportWrite, StoreError, UniqueKey, UpdateOutcome};
use roster_core::{ApiClient, Scope, Store, User, UserListRequest, UserStatus, Workspace};
use serde_json::json;

/// A fresh event (each needs its own id).
pub(crate) fn ev() -> NewEvent {
    ev_at(Action::UserUpdate, None, t0())
}

fn ev_at(action: Action, target: Option<&str>, at: DateTime<Utc>) -> NewEvent {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NewEvent {
        id: format!("evt_{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        occurred_at: at,
        action,
        actor_kind: "api_key",
        actor_id: Some("key_test".into()),
        target_user_id: target.map(str::to_owned),
        request_id: Some("req_test".into()),
        ip: None,
        user_agent: None,
        changes: r#"{"name":{"after":"x","before":null}}"#.into(),
    }
}

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + Duration::microseconds(123_456)
}

fn workspace(name: &str) -> Workspace {
    Workspace {
        key: 0,
        id: format!("ws_{name}"),
        name: name.to_owned(),
        roles: vec!["admin".into(), "editor".into(), "viewer".into()],
        created_at: t0(),
        is_operator: false,
        rate_limit_per_minute: None,
        audit_retention_days: 90,
        invitations: Default::default(),
        auth: Default::default(),
    }
}

pub(crate) async fn add_workspace(store: &Arc<dyn Store>, name: &str) -> Workspace {
    let mut ws = workspace(name);
    ws.key = store.insert_workspace(&ws, &ev()).await.unwrap();
    ws
}

fn key(workspace_key: i64, secret: &str) -> ApiKey {
    ApiKey {
        id: format!("key_{}", &secret[secret.len() - 6..]),
        workspace_key,
        name: "test".into(),
        prefix: secret[..12].to_owned(),
        secret_hash: keys::hash_secret(secret),
        scopes: vec![Scope::Admin],
        created_at: t0(),
        expires_at: None,
        rate_limit_per_minute: None,
        last_used_at: None,
    }
}

pub(crate) fn user(ws: &Workspace, n: u32, name: &str, email: &str) -> User {
    User {
        key: 0,
        id: format!("usr_{}_{n}", ws.name),
        uuid: uuid::Uuid::from_u128(u128::from(n) + (u128::try_from(ws.key).unwrap() << 64)),
        workspace_key: ws.key,
        external_id: None,
        email: email.to_owned(),
        name: name.to_owned(),
        given_name: None,
        family_name: None,
        role: "viewer".into(),
        status: UserStatus::Active,
        attributes: Default::default(),
        created_at: t0() + Duration::seconds(i64::from(n)),
        updated_at: t0() + Duration::seconds(i64::from(n)),
        deleted_at: None,
        version: 1,
        sessions_limit: None,
        allow_authentication_token: false,
        has_authentication_token: false,
        current_sign_in_at: None,
        last_sign_in_at: None,
    }
}

pub(crate) async fn insert(store: &Arc<dyn Store>, mut user: User) -> User {
    user.key = store.insert_user(&user, &ev(), &[]).await.unwrap();
    user
}

pub(crate) fn list(ws: &Workspace) -> UserListRequest {
    UserListRequest {
        workspace_key: ws.key,
        role: None,
        status: None,
        search: None,
        email_key: None,
        include_deleted: false,
        group_key: None,
        as_of: Utc::now(),
        before_key: None,
        limit: 100,
    }
}

async fn names(store: &Arc<dyn Store>, request: &UserListRequest) -> Vec<String> {
    store
        .list_users(request)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect()
}

pub async fn migrate_is_idempotent(store: Arc<dyn Store>) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

pub async fn bootstrap_happens_once(store: Arc<dyn Store>) {
    let secret = "sk_live_0123456789012345678901234567890123456789abc";
    assert!(store
        .bootstrap(&workspace("default"), &key(0, secret), &[])
        .await
        .unwrap());
    let other = "sk_live_9999999999999999999999999999999999999999xyz";
    assert!(!store
        .bootstrap(&workspace("second"), &key(0, other), &[])
        .await
        .unwrap());
    let all = store.list_workspaces().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "default");
    let (found, ws) = store
        .find_api_key(&keys::hash_secret(secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ws, all[0]);
    assert_eq!(found.workspace_key, ws.key);
    assert!(store
        .find_api_key(&keys::hash_secret(other))
        .await
        .unwrap()
        .is_none());
}

pub async fn workspaces_are_found_by_id_or_name(store: Arc<dyn Store>) {
    let a = add_workspace(&store, "acme").await;
    let b = add_workspace(&store, "globex").await;
    assert_ne!(a.key, b.key);
    assert_eq!(store.find_workspace("acme").await.unwrap().unwrap(), a);
    assert_eq!(store.find_workspace(&b.id).await.unwrap().unwrap(), b);
    assert!(store.find_workspace("initech").await.unwrap().is_none());
    assert_eq!(store.list_workspaces().await.unwrap(), vec![a, b]);
}

pub async fn workspace_names_are_unique(store: Arc<dyn Store>) {
    add_workspace(&store, "acme").await;
    let mut again = workspace("acme");
    again.id = "ws_other".into();
    let err = store.insert_workspace(&again, &ev()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unique(UniqueKey::WorkspaceName)),
        "{err:?}"
    );
}

pub async fn api_keys_are_found_by_hash_only(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let secret = "sk_live_abcdefabcdefabcdefabcdefabcdefabcdefabcdef123";
    let mut stored = key(ws.key, secret);
    stored.expires_at = Some(t0() + Duration::days(1));
    store.insert_api_key(&stored, &ev()).await.unwrap();
    let (found, found_ws) = store
        .find_api_key(&keys::hash_secret(secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, stored);
    assert_eq!(found_ws, ws);
    let near_miss = format!("{}4", &secret[..secret.len() - 1]);
    assert!(store
        .find_api_key(&keys::hash_secret(&near_miss))
        .await
        .unwrap()
        .is_none());
}

/// A sessions limit of 0 (or over 999,999) is refused by the schema itself, on insert and
/// on update, whatever the core checked before.
pub async fn sessions_limits_out_of_range_are_refused(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut zero = user(&ws, 1, "Zero", "zero@example.com");
    zero.sessions_limit = Some(0);
    assert!(store.insert_user(&zero, &ev(), &[]).await.is_err());
    let mut ok = user(&ws, 2, "Ok", "ok@example.com");
    ok.sessions_limit = Some(3);
    let mut ok = insert(&store, ok).await;
    let expected = ok.version;
    ok.version += 1;
    ok.sessions_limit = Some(1_000_000);
    assert!(store.update_user(&ok, expected, &ev(), &[]).await.is_err());
    let stored = store.get_user(ws.key, &ok.id).await.unwrap().unwrap();
    assert_eq!(stored.sessions_limit, Some(3));
}

pub async fn users_round_trip(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut full = user(&ws, 1, "Jane Cooper", "Jane@Example.com");
    full.external_id = Some("ext-1".into());
    full.given_name = Some("Jane".into());
    full.family_name = Some("Cooper".into());
    full.role = "admin".into();
    full.status = UserStatus::Invited;
    full.attributes = json!({"plan": "pro", "seats": [1, 2], "nested": {"ok": true}})
        .as_object()
        .unwrap()
        .clone();
    let full = insert(&store, full).await;
    assert!(full.key > 0);
    assert_eq!(
        store.get_user(ws.key, &full.id).await.unwrap().unwrap(),
        full
    );
    let by_external = store
        .find_user_by_external_id(ws.key, "ext-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_external, full);
    let second = insert(&store, user(&ws, 2, "Bob", "bob@example.com")).await;
    assert!(second.key > full.key, "keys grow");
    assert!(store
        .get_user(ws.key, "usr_missing")
        .await
        .unwrap()
        .is_none());
}

pub async fn emails_are_unique_per_workspace_among_live_users(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "globex").await;
    let first = insert(&store, user(&ws, 1, "Jane", "jane@example.com")).await;
    let err = store
        .insert_user(&user(&ws, 2, "Jane Again", "JANE@example.com"), &ev(), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unique(UniqueKey::UserEmail)),
        "{err:?}"
    );
    insert(
        &store,
        user(&other, 3, "Jane Elsewhere", "jane@example.com"),
    )
    .await;
    // Once the first is soft-deleted, the address is free again.
    let mut deleted = first.clone();
    deleted.deleted_at = Some(t0());
    deleted.version = 2;
    assert_eq!(
        store.update_user(&deleted, 1, &ev(), &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    insert(&store, user(&ws, 4, "Jane Returns", "jane@example.com")).await;
    // An update onto a taken address is refused too.
    let bob = insert(&store, user(&ws, 5, "Bob", "bob@example.com")).await;
    let mut clash = bob.clone();
    clash.email = "Jane@Example.com".into();
    clash.version = 2;
    let err = store.update_user(&clash, 1, &ev(), &[]).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unique(UniqueKey::UserEmail)),
        "{err:?}"
    );
}

pub async fn external_ids_stay_taken_after_delete(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut first = user(&ws, 1, "Jane", "jane@example.com");
    first.external_id = Some("ext-1".into());
    let first = insert(&store, first).await;
    // Users without an external id do not collide with each other.
    insert(&store, user(&ws, 2, "A", "a@example.com")).await;
    insert(&store, user(&ws, 3, "B", "b@example.com")).await;
    let mut deleted = first.clone();
    deleted.deleted_at = Some(t0());
    deleted.version = 2;
    store.update_user(&deleted, 1, &ev(), &[]).await.unwrap();
    let mut again = user(&ws, 4, "Jane Again", "jane2@example.com");
    again.external_id = Some("ext-1".into());
    let err = store.insert_user(&again, &ev(), &[]).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unique(UniqueKey::UserExternalId)),
        "{err:?}"
    );
    let holder = store
        .find_user_by_external_id(ws.key, "ext-1")
        .await
        .unwrap()
        .unwrap();
    assert!(holder.deleted_at.is_some());
}

pub async fn updates_are_conditional_on_version(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let stored = insert(&store, user(&ws, 1, "Jane", "jane@example.com")).await;
    let mut changed = stored.clone();
    changed.name = "Jane Cooper".into();
    changed.role = "editor".into();
    changed.status = UserStatus::Inactive;
    changed.given_name = Some("Jane".into());
    changed.external_id = Some("x-1".into());
    changed.attributes = json!({"a": 1}).as_object().unwrap().clone();
    changed.updated_at = t0() + Duration::days(1);
    changed.version = 2;
    assert_eq!(
        store.update_user(&changed, 1, &ev(), &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    assert_eq!(
        store.get_user(ws.key, &stored.id).await.unwrap().unwrap(),
        changed
    );
    let mut stale = stored.clone();
    stale.name = "Stale".into();
    stale.version = 2;
    assert_eq!(
        store.update_user(&stale, 1, &ev(), &[]).await.unwrap(),
        UpdateOutcome::VersionConflict
    );
    assert_eq!(
        store
            .get_user(ws.key, &stored.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Jane Cooper"
    );
    let mut ghost = stored;
    ghost.key += 1000;
    assert_eq!(
        store.update_user(&ghost, 1, &ev(), &[]).await.unwrap(),
        UpdateOutcome::Missing
    );
}

pub async fn lists_are_newest_first_and_paginate(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut made = Vec::new();
    for n in 0..7 {
        made.push(
            insert(
                &store,
                user(&ws, n, &format!("U{n}"), &format!("u{n}@example.com")),
            )
            .await,
        );
    }
    let mut request = list(&ws);
    request.limit = 3;
    let page = store.list_users(&request).await.unwrap();
    assert_eq!(
        page.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["U6", "U5", "U4"]
    );
    request.before_key = Some(page[2].key);
    // A user created between pages does not shift the next page.
    insert(&store, user(&ws, 99, "Late", "late@example.com")).await;
    assert_eq!(names(&store, &request).await, ["U3", "U2", "U1"]);
    request.before_key = Some(made[1].key);
    assert_eq!(names(&store, &request).await, ["U0"]);
}

pub async fn lists_filter_by_role_status_and_email(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    for (n, role, status) in [
        (1, "admin", UserStatus::Active),
        (2, "admin", UserStatus::Inactive),
        (3, "editor", UserStatus::Active),
        (4, "viewer", UserStatus::Invited),
        (5, "admin", UserStatus::Active),
    ] {
        let mut u = user(&ws, n, &format!("U{n}"), &format!("u{n}@example.com"));
        u.role = role.into();
        u.status = status;
        insert(&store, u).await;
    }
    let mut request = list(&ws);
    request.role = Some("admin".into());
    assert_eq!(names(&store, &request).await, ["U5", "U2", "U1"]);
    request.status = Some(UserStatus::Active);
    assert_eq!(names(&store, &request).await, ["U5", "U1"]);
    request.role = None;
    assert_eq!(names(&store, &request).await, ["U5", "U3", "U1"]);
    request.status = Some(UserStatus::Invited);
    assert_eq!(names(&store, &request).await, ["U4"]);
    let mut by_email = list(&ws);
    by_email.email_key = Some("u3@example.com".into());
    assert_eq!(names(&store, &by_email).await, ["U3"]);
    by_email.email_key = Some("u3@example".into());
    assert!(names(&store, &by_email).await.is_empty());
}

pub async fn search_matches_substrings_of_name_or_email(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    insert(&store, user(&ws, 1, "Jane Cooper", "jane@example.com")).await;
    insert(&store, user(&ws, 2, "Bob Stone", "bob.cooperman@corp.io")).await;
    insert(&store, user(&ws, 3, "Zoë Ünal", "zoe@example.org")).await;
    insert(
        &store,
        user(&ws, 4, "100% Real_Name", "literal@example.net"),
    )
    .await;
    let search = |text: &str| {
        let mut request = list(&ws);
        request.search = Some(text.to_owned());
        request
    };
    assert_eq!(
        names(&store, &search("COOPER")).await,
        ["Bob Stone", "Jane Cooper"]
    );
    assert_eq!(names(&store, &search("corp.i")).await, ["Bob Stone"]);
    assert_eq!(names(&store, &search("ünal")).await, ["Zoë Ünal"]);
    assert_eq!(names(&store, &search("bob")).await, ["Bob Stone"]);
    assert_eq!(names(&store, &search("exa")).await.len(), 3);
    // LIKE and FTS syntax is taken literally.
    assert_eq!(names(&store, &search("00%")).await, ["100% Real_Name"]);
    assert_eq!(names(&store, &search("al_N")).await, ["100% Real_Name"]);
    assert!(names(&store, &search("l%N")).await.is_empty());
    assert!(names(&store, &search("\"jane\" OR x")).await.is_empty());
    assert!(names(&store, &search("nobody-here")).await.is_empty());
    // Search combines with other filters and pagination.
    let mut request = search("example");
    request.limit = 1;
    let first = store.list_users(&request).await.unwrap();
    assert_eq!(first[0].name, "100% Real_Name");
    request.before_key = Some(first[0].key);
    request.limit = 10;
    assert_eq!(names(&store, &request).await, ["Zoë Ünal", "Jane Cooper"]);
}

pub async fn search_follows_renames(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let jane = insert(&store, user(&ws, 1, "Jane Cooper", "jane@example.com")).await;
    let mut renamed = jane.clone();
    renamed.name = "Janet Smithers".into();
    renamed.email = "janet@smithers.io".into();
    renamed.version = 2;
    store.update_user(&renamed, 1, &ev(), &[]).await.unwrap();
    let mut request = list(&ws);
    request.search = Some("cooper".into());
    assert!(names(&store, &request).await.is_empty());
    request.search = Some("smither".into());
    assert_eq!(names(&store, &request).await, ["Janet Smithers"]);
}

pub async fn lists_hide_deleted_users(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let jane = insert(&store, user(&ws, 1, "Jane", "jane@example.com")).await;
    insert(&store, user(&ws, 2, "Bob", "bob@example.com")).await;
    let mut deleted = jane.clone();
    deleted.deleted_at = Some(t0());
    deleted.version = 2;
    store.update_user(&deleted, 1, &ev(), &[]).await.unwrap();
    assert_eq!(names(&store, &list(&ws)).await, ["Bob"]);
    let mut request = list(&ws);
    request.search = Some("jane".into());
    assert!(names(&store, &request).await.is_empty());
    request.include_deleted = true;
    assert_eq!(names(&store, &request).await, ["Jane"]);
    let mut everyone = list(&ws);
    everyone.include_deleted = true;
    assert_eq!(names(&store, &everyone).await, ["Bob", "Jane"]);
    everyone.email_key = Some("jane@example.com".into());
    assert_eq!(names(&store, &everyone).await, ["Jane"]);
    let stored = store.get_user(ws.key, &jane.id).await.unwrap().unwrap();
    assert_eq!(stored.deleted_at, Some(t0()));
}

pub async fn workspaces_are_isolated(store: Arc<dyn Store>) {
    let a = add_workspace(&store, "acme").await;
    let b = add_workspace(&store, "globex").await;
    let mut jane = user(&a, 1, "Jane", "jane@example.com");
    jane.external_id = Some("shared".into());
    let jane = insert(&store, jane).await;
    let mut bob = user(&b, 2, "Bob", "bob@example.com");
    bob.external_id = Some("shared".into());
    insert(&store, bob).await;
    assert_eq!(names(&store, &list(&a)).await, ["Jane"]);
    assert_eq!(names(&store, &list(&b)).await, ["Bob"]);
    assert!(store.get_user(b.key, &jane.id).await.unwrap().is_none());
    let mut hijack = jane.clone();
    hijack.workspace_key = b.key;
    hijack.name = "Hijacked".into();
    hijack.version = 2;
    assert_eq!(
        store.update_user(&hijack, 1, &ev(), &[]).await.unwrap(),
        UpdateOutcome::Missing
    );
    assert_eq!(
        store.get_user(a.key, &jane.id).await.unwrap().unwrap().name,
        "Jane"
    );
    let mut request = list(&b);
    request.search = Some("jane".into());
    assert!(names(&store, &request).await.is_empty());
}

pub async fn concurrent_writes_all_succeed(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut tasks = Vec::new();
    for n in 0..64u32 {
        let store = store.clone();
        let u = user(&ws, n, &format!("U{n}"), &format!("u{n}@example.com"));
        tasks.push(tokio::spawn(async move {
            store.insert_user(&u, &ev(), &[]).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut request = list(&ws);
    request.limit = 100;
    assert_eq!(store.list_users(&request).await.unwrap().len(), 64);
    // Concurrent appends took turns: one unbroken chain, workspace.create then 64 events.
    let chain = store.audit_chain(ws.key, 0, 100).await.unwrap();
    assert_eq!(
        chain.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=65).collect::<Vec<i64>>()
    );
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
}

/// Writes that fail beside writes that succeed (at the same moment, so a store that groups
/// writes has them in one group) fail alone: each caller hears its own outcome, and the
/// chain holds exactly the events of the writes that succeeded.
pub async fn concurrent_failures_fail_alone(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    insert(&store, user(&ws, 1000, "Taken", "taken@example.com")).await;
    let mut tasks = Vec::new();
    for n in 0..40u32 {
        let store = store.clone();
        // Every other write reuses the taken email.
        let email = if n % 2 == 0 {
            format!("u{n}@example.com")
        } else {
            "taken@example.com".to_owned()
        };
        let u = user(&ws, n, &format!("U{n}"), &email);
        tasks.push(tokio::spawn(async move {
            let event = ev_at(Action::UserCreate, Some(&u.id), t0());
            (n, store.insert_user(&u, &event, &[]).await)
        }));
    }
    for task in tasks {
        let (n, result) = task.await.unwrap();
        if n % 2 == 0 {
            result.unwrap();
        } else {
            assert!(
                matches!(result, Err(StoreError::Unique(UniqueKey::UserEmail))),
                "write {n}: {result:?}"
            );
        }
    }
    let mut request = list(&ws);
    request.limit = 100;
    assert_eq!(store.list_users(&request).await.unwrap().len(), 21);
    let chain = store.audit_chain(ws.key, 0, 100).await.unwrap();
    assert_eq!(
        chain.len(),
        1 + 1 + 20,
        "workspace, the taken user, 20 new users"
    );
    assert_eq!(chain.last().unwrap().seq, 22);
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
}

/// An import batch is written whole with its one event, or not at all.
pub async fn import_batches_are_all_or_nothing(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut jane = user(&ws, 1, "Jane", "jane@example.com");
    jane.external_id = Some("ext-jane".into());
    let jane = insert(&store, jane).await;
    let deleted = {
        let mut u = user(&ws, 2, "Gone", "gone@example.com");
        u.external_id = Some("ext-gone".into());
        u.deleted_at = Some(t0());
        insert(&store, u).await
    };
    let found = store
        .find_import_matches(
            ws.key,
            &["ext-jane".into(), "ext-gone".into(), "ext-none".into()],
            &["gone@example.com".into(), "nobody@example.com".into()],
        )
        .await
        .unwrap();
    let mut ids: Vec<&str> = found.iter().map(|u| u.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [jane.id.as_str(), deleted.id.as_str()],
        "by external id, deleted too"
    );
    let by_email = store
        .find_import_matches(
            ws.key,
            &[],
            &["jane@example.com".into(), "gone@example.com".into()],
        )
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1, "by email, live users only");

    let write = |user: User, expected_version: Option<i64>| ImportWrite {
        user,
        expected_version,
        password_hash: Some("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".into()),
        plan: Vec::new(),
    };
    let mut renamed = jane.clone();
    renamed.name = "Janet".into();
    renamed.version = 2;
    let fresh = user(&ws, 3, "Fresh", "fresh@example.com");
    // A new user whose email is taken fails the whole batch: the rename is not written.
    let clash = user(&ws, 4, "Clash", "jane@example.com");
    let failed = store
        .import_users(
            ws.key,
            &[write(renamed.clone(), Some(1)), write(clash, None)],
            &ev(),
        )
        .await;
    assert!(
        matches!(failed, Err(StoreError::Unique(UniqueKey::UserEmail))),
        "{failed:?}"
    );
    // So does an update whose row moved on.
    let stale = store
        .import_users(
            ws.key,
            &[write(fresh.clone(), None), write(renamed.clone(), Some(7))],
            &ev(),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
    assert_eq!(
        store
            .get_user(ws.key, &jane.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Jane"
    );
    assert!(store.get_user(ws.key, &fresh.id).await.unwrap().is_none());
    let before = store.audit_chain(ws.key, 0, 100).await.unwrap().len();

    store
        .import_users(
            ws.key,
            &[write(renamed, Some(1)), write(fresh.clone(), None)],
            &ev(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get_user(ws.key, &jane.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Janet"
    );
    assert!(store.get_user(ws.key, &fresh.id).await.unwrap().is_some());
    assert_eq!(
        store.audit_chain(ws.key, 0, 100).await.unwrap().len(),
        before + 1,
        "one event for the batch"
    );
}

/// However the store seals an event (in Rust or in SQL), the stored hash is the one
/// `computed_hash` gives: every field counts, missing and empty differ, text is UTF-8.
pub async fn sealed_events_verify_whatever_their_fields(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let full = NewEvent {
        ip: Some("2001:db8::1".into()),
        user_agent: Some("Grüße/1.0 (日本語; \"quoted\") 🚀".into()),
        changes: r#"{"name":{"after":"Zoë","before":"Zoe"}}"#.into(),
        ..ev_at(Action::UserUpdate, Some("usr_x"), t0())
    };
    let empty = NewEvent {
        actor_id: Some(String::new()),
        target_user_id: None,
        request_id: None,
        ip: Some(String::new()),
        user_agent: None,
        changes: "{}".into(),
        ..ev_at(Action::ConfigUpdate, None, t0() + Duration::microseconds(1))
    };
    for (n, event) in [full, empty].iter().enumerate() {
        let n = n as u32;
        let u = user(&ws, n, &format!("U{n}"), &format!("u{n}@example.com"));
        store.insert_user(&u, event, &[]).await.unwrap();
    }
    let chain = store.audit_chain(ws.key, 0, 100).await.unwrap();
    assert_eq!(chain.len(), 3);
    for event in &chain {
        assert_eq!(
            event.hash,
            event.computed_hash(),
            "event {} verifies",
            event.seq
        );
    }
    assert_eq!(chain[2].actor_id.as_deref(), Some(""));
    assert_eq!(chain[2].user_agent, None);
    assert_eq!(
        chain[1].user_agent.as_deref(),
        Some("Grüße/1.0 (日本語; \"quoted\") 🚀")
    );
}

pub async fn workspace_settings_round_trip(store: Arc<dyn Store>) {
    let mut operator = workspace("default");
    operator.is_operator = true;
    operator.rate_limit_per_minute = Some(5_000);
    operator.key = store.insert_workspace(&operator, &ev()).await.unwrap();
    assert_eq!(
        store.find_workspace("default").await.unwrap().unwrap(),
        operator
    );
    store
        .set_workspace_rate_limit(operator.key, Some(42), &ev())
        .await
        .unwrap();
    let found = store.find_workspace("default").await.unwrap().unwrap();
    assert_eq!(found.rate_limit_per_minute, Some(42));
    store
        .set_workspace_rate_limit(operator.key, None, &ev())
        .await
        .unwrap();
    assert_eq!(
        store
            .find_workspace("default")
            .await
            .unwrap()
            .unwrap()
            .rate_limit_per_minute,
        None
    );
}

pub async fn keys_are_listed_touched_and_revoked(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "globex").await;
    let first_secret = "sk_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa111";
    let mut first = key(ws.key, first_secret);
    first.scopes = vec![Scope::UsersRead, Scope::AuditRead];
    first.rate_limit_per_minute = Some(60);
    first.expires_at = Some(t0() + Duration::days(30));
    store.insert_api_key(&first, &ev()).await.unwrap();
    let mut second = key(
        ws.key,
        "sk_live_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb222",
    );
    second.created_at = t0() + Duration::seconds(1);
    store.insert_api_key(&second, &ev()).await.unwrap();
    store
        .insert_api_key(
            &key(
                other.key,
                "sk_live_ccccccccccccccccccccccccccccccccccccccccccc333",
            ),
            &ev(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.list_api_keys(ws.key).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    store
        .touch_api_key(&first.id, t0() + Duration::hours(1))
        .await
        .unwrap();
    let (touched, _) = store
        .find_api_key(&keys::hash_secret(first_secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_used_at, Some(t0() + Duration::hours(1)));

    // Another workspace cannot revoke it; its own can, once.
    assert!(store
        .revoke_api_key(other.key, &first.id, t0(), &ev())
        .await
        .unwrap()
        .is_none());
    let revoked = store
        .revoke_api_key(ws.key, &first.id, t0(), &ev())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.secret_hash, first.secret_hash);
    assert!(store
        .revoke_api_key(ws.key, &first.id, t0(), &ev())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_api_key(&keys::hash_secret(first_secret))
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.list_api_keys(ws.key).await.unwrap(), vec![second]);
}

fn client(ws: &Workspace, n: u8) -> ApiClient {
    ApiClient {
        client_id: format!("{n:02x}").repeat(20),
        workspace_key: ws.key,
        name: format!("client {n}"),
        secret_hash: [n; 32],
        scopes: vec![Scope::UsersRead, Scope::UsersWrite],
        admin_api_enabled: false,
        rate_limit_per_minute: None,
        created_at: t0() + Duration::seconds(i64::from(n)),
    }
}

pub async fn clients_are_found_updated_and_revoked(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "globex").await;
    let a = client(&ws, 1);
    let b = client(&ws, 2);
    store.insert_api_client(&a, &ev()).await.unwrap();
    store.insert_api_client(&b, &ev()).await.unwrap();
    store
        .insert_api_client(&client(&other, 3), &ev())
        .await
        .unwrap();
    assert_eq!(
        store.find_api_client(&a.client_id).await.unwrap().unwrap(),
        (a.clone(), ws.clone())
    );
    assert_eq!(
        store.list_api_clients(ws.key).await.unwrap(),
        vec![a.clone(), b.clone()]
    );

    let mut changed = a.clone();
    changed.name = "renamed".into();
    changed.scopes = vec![Scope::Admin];
    changed.admin_api_enabled = true;
    changed.rate_limit_per_minute = Some(10);
    assert!(store.update_api_client(&changed, &ev()).await.unwrap());
    assert_eq!(
        store
            .find_api_client(&a.client_id)
            .await
            .unwrap()
            .unwrap()
            .0,
        changed
    );
    let mut hijack = changed.clone();
    hijack.workspace_key = other.key;
    assert!(!store.update_api_client(&hijack, &ev()).await.unwrap());

    assert!(!store
        .revoke_api_client(other.key, &a.client_id, t0(), &ev())
        .await
        .unwrap());
    assert!(store
        .revoke_api_client(ws.key, &a.client_id, t0(), &ev())
        .await
        .unwrap());
    assert!(!store
        .revoke_api_client(ws.key, &a.client_id, t0(), &ev())
        .await
        .unwrap());
    assert!(store.find_api_client(&a.client_id).await.unwrap().is_none());
    assert!(!store.update_api_client(&changed, &ev()).await.unwrap());
    assert_eq!(store.list_api_clients(ws.key).await.unwrap(), vec![b]);
}

fn signing_key(kid: &str, at: DateTime<Utc>) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        private_pem: format!("-----BEGIN PRIVATE KEY-----\n{kid}\n-----END PRIVATE KEY-----\n"),
        modulus: format!("n-{kid}"),
        exponent: "AQAB".into(),
        created_at: at,
        retires_at: None,
    }
}

pub async fn signing_keys_rotate(store: Arc<dyn Store>) {
    assert!(store.list_signing_keys().await.unwrap().is_empty());
    let first = signing_key("k1", t0());
    store
        .rotate_signing_key(&first, t0() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        store.list_signing_keys().await.unwrap(),
        vec![first.clone()]
    );
    let second = signing_key("k2", t0() + Duration::hours(1));
    let retire_at = t0() + Duration::hours(25);
    store.rotate_signing_key(&second, retire_at).await.unwrap();
    let retired = SigningKey {
        retires_at: Some(retire_at),
        ..first
    };
    assert_eq!(
        store.list_signing_keys().await.unwrap(),
        vec![retired.clone(), second.clone()]
    );
    // A later rotation does not move an earlier retirement.
    let third = signing_key("k3", t0() + Duration::hours(2));
    store
        .rotate_signing_key(&third, t0() + Duration::hours(26))
        .await
        .unwrap();
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys[0], retired);
    assert_eq!(keys[1].retires_at, Some(t0() + Duration::hours(26)));
    assert_eq!(keys[2], third);
}

fn audit_query(ws: &Workspace) -> AuditQuery {
    AuditQuery {
        workspace_key: ws.key,
        action: None,
        user_id: None,
        actor_id: None,
        start: None,
        end: None,
        before: None,
        limit: 100,
    }
}

async fn event_ids(store: &Arc<dyn Store>, query: &AuditQuery) -> Vec<String> {
    store
        .list_audit_events(query)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

pub async fn changes_and_events_commit_together(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "globex").await;
    // The workspace's own creation is event 1 of its chain.
    let head = store.audit_head(ws.key).await.unwrap().unwrap();
    assert_eq!(head.last_seq, 1);

    let jane = user(&ws, 1, "Jane", "jane@example.com");
    let created = ev_at(Action::UserCreate, Some(&jane.id), t0());
    let jane = User {
        key: store.insert_user(&jane, &created, &[]).await.unwrap(),
        ..jane
    };
    // A refused insert (taken email) leaves no event.
    let clash = user(&ws, 2, "Clash", "jane@example.com");
    assert!(store.insert_user(&clash, &ev(), &[]).await.is_err());
    // A stale update (wrong version) leaves no event either.
    let mut stale = jane.clone();
    stale.version = 9;
    assert_eq!(
        store.update_user(&stale, 8, &ev(), &[]).await.unwrap(),
        UpdateOutcome::VersionConflict
    );
    let mut renamed = jane.clone();
    renamed.name = "Janet".into();
    renamed.version = 2;
    let update = ev_at(
        Action::UserUpdate,
        Some(&jane.id),
        t0() + Duration::seconds(5),
    );
    assert_eq!(
        store.update_user(&renamed, 1, &update, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    // The other workspace's chain is its own.
    store
        .insert_user(&user(&other, 3, "Bob", "bob@example.com"), &ev(), &[])
        .await
        .unwrap();

    let chain = store.audit_chain(ws.key, 0, 100).await.unwrap();
    assert_eq!(chain.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(chain[1].id, created.id);
    assert_eq!(chain[2].id, update.id);
    assert_eq!(chain[0].prev_hash, "");
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for event in &chain {
        assert_eq!(event.hash, event.computed_hash(), "stored events verify");
    }
    assert_eq!(chain[1].target_user_id.as_deref(), Some(jane.id.as_str()));
    assert_eq!(chain[1].changes, created.changes);
    assert_eq!(chain[1].occurred_at, t0());
    let head = store.audit_head(ws.key).await.unwrap().unwrap();
    assert_eq!(
        (head.last_seq, head.last_hash.as_str()),
        (3, chain[2].hash.as_str())
    );
    assert_eq!(store.audit_chain(ws.key, 2, 100).await.unwrap().len(), 1);
    assert_eq!(store.audit_chain(other.key, 0, 100).await.unwrap().len(), 2);
}

pub async fn audit_events_filter_and_paginate(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let jane = user(&ws, 1, "Jane", "jane@example.com");
    store
        .insert_user(
            &jane,
            &ev_at(
                Action::UserCreate,
                Some(&jane.id),
                t0() + Duration::hours(1),
            ),
            &[],
        )
        .await
        .unwrap();
    let bob = user(&ws, 2, "Bob", "bob@example.com");
    store
        .insert_user(
            &bob,
            &ev_at(Action::UserCreate, Some(&bob.id), t0() + Duration::hours(2)),
            &[],
        )
        .await
        .unwrap();
    let mut by_operator = ev_at(Action::ConfigUpdate, None, t0() + Duration::hours(3));
    by_operator.actor_kind = "operator";
    by_operator.actor_id = None;
    store
        .set_workspace_rate_limit(ws.key, Some(10), &by_operator)
        .await
        .unwrap();

    let all = store.list_audit_events(&audit_query(&ws)).await.unwrap();
    assert_eq!(
        all.len(),
        4,
        "workspace.create, two users, one config change"
    );
    assert_eq!(all[0].id, by_operator.id, "newest first");
    let mut q = audit_query(&ws);
    q.action = Some("user.create".into());
    assert_eq!(store.list_audit_events(&q).await.unwrap().len(), 2);
    let mut q = audit_query(&ws);
    q.user_id = Some(jane.id.clone());
    assert_eq!(
        store.list_audit_events(&q).await.unwrap()[0]
            .target_user_id
            .as_deref(),
        Some(jane.id.as_str())
    );
    let mut q = audit_query(&ws);
    q.actor_id = Some("key_test".into());
    assert_eq!(store.list_audit_events(&q).await.unwrap().len(), 3);
    let mut q = audit_query(&ws);
    q.start = Some(t0() + Duration::minutes(90));
    q.end = Some(t0() + Duration::hours(3));
    let window = store.list_audit_events(&q).await.unwrap();
    assert_eq!(window.len(), 1);
    assert_eq!(window[0].target_user_id.as_deref(), Some(bob.id.as_str()));
    // Keyset pages by (time, seq).
    let mut q = audit_query(&ws);
    q.limit = 2;
    let first = store.list_audit_events(&q).await.unwrap();
    q.before = Some((first[1].occurred_at, first[1].seq));
    let second = event_ids(&store, &q).await;
    assert_eq!(second.len(), 2);
    assert!(!second.contains(&first[0].id) && !second.contains(&first[1].id));
}

pub async fn purging_keeps_the_rest_of_the_chain_verifiable(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    for n in 0..6u32 {
        let u = user(&ws, n, &format!("U{n}"), &format!("u{n}@example.com"));
        let at = t0() + Duration::days(i64::from(n));
        store
            .insert_user(&u, &ev_at(Action::UserCreate, Some(&u.id), at), &[])
            .await
            .unwrap();
    }
    let before = store.audit_chain(ws.key, 0, 100).await.unwrap();
    assert_eq!(before.len(), 7);
    // Older than day 3: the workspace event and users 0..=2, in batches of two.
    let cutoff = t0() + Duration::days(3);
    assert_eq!(
        store.purge_audit_events(ws.key, cutoff, 2).await.unwrap(),
        2
    );
    assert_eq!(
        store.purge_audit_events(ws.key, cutoff, 2).await.unwrap(),
        2
    );
    assert_eq!(
        store.purge_audit_events(ws.key, cutoff, 2).await.unwrap(),
        0
    );
    let after = store.audit_chain(ws.key, 0, 100).await.unwrap();
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6, 7]);
    let head = store.audit_head(ws.key).await.unwrap().unwrap();
    assert_eq!(head.checkpoint_seq, 4);
    assert_eq!(head.checkpoint_hash, before[3].hash);
    assert_eq!(after[0].prev_hash, head.checkpoint_hash);
    assert_eq!(head.last_seq, 7);
    // The last purged event is kept whole with the checkpoint, as it was.
    let kept: roster_core::AuditEvent =
        serde_json::from_str(head.checkpoint_event.as_deref().unwrap()).unwrap();
    assert_eq!(kept, before[3]);
}

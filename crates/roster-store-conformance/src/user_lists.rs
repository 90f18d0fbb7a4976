//! Reading users: lists, filters, search (`UserStore::list_users`).

use std::sync::Arc;

use roster_core::{Store, UserStatus};

use crate::fixtures::*;

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

pub async fn numbered_pages_skip_the_users_before_them(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    for n in 0..7 {
        let mut u = user(&ws, n, &format!("U{n}"), &format!("u{n}@example.com"));
        if n % 2 == 0 {
            u.role = "admin".into();
        }
        insert(&store, u).await;
    }
    let mut request = list(&ws);
    request.limit = 3;
    request.offset = 3;
    assert_eq!(names(&store, &request).await, ["U3", "U2", "U1"]);
    request.offset = 6;
    assert_eq!(names(&store, &request).await, ["U0"]);
    request.offset = 7;
    assert!(names(&store, &request).await.is_empty());
    // The offset counts matching users only.
    request.role = Some("admin".into());
    request.offset = 1;
    request.limit = 2;
    assert_eq!(names(&store, &request).await, ["U4", "U2"]);
}

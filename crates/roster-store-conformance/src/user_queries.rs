//! Querying users by conditions (`UserStore::query_users`, `count_users`,
//! `find_users_by_ids`): SCIM's filters, sorts and pages.

use std::sync::Arc;

use chrono::Duration;
use roster_core::query::{
    Condition, Operand, Operator, QueryRequest, SortField, UserField, UserQuery,
};
use roster_core::{Store, UserStatus, Workspace};

use crate::fixtures::*;

fn text(field: UserField, op: Operator, value: &str) -> Condition {
    Condition::Compare(field, op, Operand::Text(value.into()))
}

fn query(ws: &Workspace, condition: Condition) -> UserQuery {
    UserQuery::build(
        ws,
        QueryRequest {
            condition: Some(condition),
            limit: 100,
            ..QueryRequest::default()
        },
    )
    .unwrap()
}

async fn matched(store: &Arc<dyn Store>, query: &UserQuery) -> Vec<String> {
    let found: Vec<String> = store
        .query_users(query)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(
        store.count_users(query).await.unwrap(),
        found.len() as u64,
        "count of {query:?}"
    );
    found
}

/// Four users of `acme` (one deleted, one inactive) and one of `other` with the same email.
async fn people(store: &Arc<dyn Store>) -> Workspace {
    let ws = add_workspace(store, "acme").await;
    let other = add_workspace(store, "other").await;
    let mut ann = user(&ws, 1, "Ann Lee", "ann.lee@example.com");
    ann.user_name = "Ann.Lee@Corp.example".into();
    ann.external_id = Some("EXT-ann".into());
    ann.given_name = Some("Ann".into());
    insert(store, ann).await;
    let mut bob = user(&ws, 2, "Bob Stone", "bob@sample.org");
    bob.status = UserStatus::Inactive;
    insert(store, bob).await;
    insert(store, user(&ws, 3, "Cy Annis", "cy@example.com")).await;
    let mut gone = user(&ws, 4, "Ann Gone", "gone@example.com");
    gone.deleted_at = Some(t0());
    insert(store, gone).await;
    insert(store, user(&other, 5, "Ann Lee", "ann.lee@example.com")).await;
    ws
}

pub async fn queries_compare_each_field_as_scim_does(store: Arc<dyn Store>) {
    let ws = people(&store).await;
    use Operator::*;
    use UserField::*;
    for (condition, expected) in [
        // User names and emails compare case-insensitively, by index.
        (text(UserName, Eq, "ANN.LEE@corp.EXAMPLE"), vec!["Ann Lee"]),
        (text(UserName, StartsWith, "ann."), vec!["Ann Lee"]),
        (text(UserName, Contains, "lee@corp"), vec!["Ann Lee"]),
        (text(Email, Eq, "Cy@Example.com"), vec!["Cy Annis"]),
        (
            text(Email, EndsWith, "@example.com"),
            vec!["Ann Lee", "Cy Annis"],
        ),
        (text(Email, Contains, "sample"), vec!["Bob Stone"]),
        (text(Email, Contains, "zz"), vec![]),
        (text(Name, Contains, "ann"), vec!["Ann Lee", "Cy Annis"]),
        (text(Name, StartsWith, "bob"), vec!["Bob Stone"]),
        (text(Name, Eq, "cy annis"), vec!["Cy Annis"]),
        // External ids are case-exact.
        (text(ExternalId, Eq, "EXT-ann"), vec!["Ann Lee"]),
        (text(ExternalId, Eq, "ext-ann"), vec![]),
        (text(ExternalId, StartsWith, "EXT"), vec!["Ann Lee"]),
        (Condition::Present(ExternalId), vec!["Ann Lee"]),
        (Condition::Present(GivenName), vec!["Ann Lee"]),
        (
            text(ExternalId, Ne, "EXT-ann"),
            vec!["Bob Stone", "Cy Annis"],
        ),
        (text(Id, Eq, "usr_acme_3"), vec!["Cy Annis"]),
        (
            Condition::Compare(Active, Eq, Operand::Bool(false)),
            vec!["Bob Stone"],
        ),
        (
            Condition::Compare(
                UpdatedAt,
                Greater,
                Operand::Time(t0() + Duration::seconds(1)),
            ),
            vec!["Bob Stone", "Cy Annis"],
        ),
        (
            Condition::Compare(
                CreatedAt,
                LessOrEqual,
                Operand::Time(t0() + Duration::seconds(1)),
            ),
            vec!["Ann Lee"],
        ),
        (
            Condition::And(vec![
                text(Name, Contains, "ann"),
                Condition::Not(Box::new(text(Email, StartsWith, "cy"))),
            ]),
            vec!["Ann Lee"],
        ),
        (
            Condition::Or(vec![
                text(Email, Eq, "bob@sample.org"),
                text(UserName, Eq, "cy@example.com"),
            ]),
            vec!["Bob Stone", "Cy Annis"],
        ),
        (Condition::All, vec!["Ann Lee", "Bob Stone", "Cy Annis"]),
    ] {
        let q = query(&ws, condition.clone());
        assert_eq!(matched(&store, &q).await, expected, "{condition:?}");
    }
}

/// A user without an email (SCIM makes them) has a placeholder key in the email's place;
/// no email filter may find the placeholder: not a piece of it, not its end, not its start.
pub async fn a_user_without_email_holds_no_email_substring(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut nobody = user(&ws, 1, "No Mail", "");
    nobody.user_name = "no.mail".into();
    let key = nobody.email_key();
    let uuid = nobody.uuid.simple().to_string();
    insert(&store, nobody).await;
    insert(&store, user(&ws, 2, "Has Mail", "has@example.com")).await;
    use Operator::*;
    use UserField::*;
    for needle in [&uuid[3..9], &uuid[..2], "no-email", key.as_str()] {
        let q = query(&ws, text(Email, Contains, needle));
        assert_eq!(
            matched(&store, &q).await,
            Vec::<String>::new(),
            "co {needle:?}"
        );
    }
    for (condition, expected) in [
        (text(Email, EndsWith, &uuid[uuid.len() - 4..]), vec![]),
        (text(Email, StartsWith, "~"), vec![]),
        (
            Condition::Not(Box::new(text(Email, Contains, &uuid[3..9]))),
            vec!["No Mail", "Has Mail"],
        ),
        (text(Email, Contains, "example"), vec!["Has Mail"]),
    ] {
        let q = query(&ws, condition.clone());
        assert_eq!(matched(&store, &q).await, expected, "{condition:?}");
    }
}

pub async fn queries_sort_and_page_by_position_and_by_keyset(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    for (n, user_name) in [(1, "delta"), (2, "Alpha"), (3, "charlie"), (4, "bravo")] {
        let mut u = user(&ws, n, user_name, &format!("{user_name}@example.com"));
        u.user_name = user_name.into();
        insert(&store, u).await;
    }
    let request = |start_index, sort, descending| QueryRequest {
        sort,
        descending,
        start_index,
        limit: 2,
        ..QueryRequest::default()
    };
    let q = UserQuery::build(&ws, request(Some(2), SortField::UserName, false)).unwrap();
    // Two rows asked for, three fetched (one more, so the caller sees that more follow).
    assert_eq!(
        matched_page(&store, &q).await,
        ["bravo", "charlie", "delta"]
    );
    assert_eq!(store.count_users(&q).await.unwrap(), 4);
    let q = UserQuery::build(&ws, request(None, SortField::Key, true)).unwrap();
    assert_eq!(
        matched_page(&store, &q).await,
        ["bravo", "charlie", "Alpha"]
    );
    // Positions in key order, either way, with and without a condition.
    let q = UserQuery::build(&ws, request(Some(3), SortField::Key, false)).unwrap();
    assert_eq!(matched_page(&store, &q).await, ["charlie", "bravo"]);
    let q = UserQuery::build(&ws, request(Some(2), SortField::Key, true)).unwrap();
    assert_eq!(
        matched_page(&store, &q).await,
        ["charlie", "Alpha", "delta"]
    );
    let mut filtered = request(Some(2), SortField::Key, false);
    filtered.condition = Some(Condition::Compare(
        UserField::Email,
        Operator::EndsWith,
        Operand::Text("a@example.com".into()),
    ));
    let q = UserQuery::build(&ws, filtered).unwrap();
    assert_eq!(matched_page(&store, &q).await, ["Alpha"]);
    let mut pinned = request(Some(1), SortField::Key, false);
    pinned.condition = Some(Condition::Compare(
        UserField::UserName,
        Operator::Eq,
        Operand::Text("CHARLIE".into()),
    ));
    let q = UserQuery::build(&ws, pinned).unwrap();
    assert_eq!(matched_page(&store, &q).await, ["charlie"]);
    // Keyset: after the second user name in order, whatever was inserted meanwhile.
    let mut q = UserQuery::build(&ws, request(None, SortField::UserName, false)).unwrap();
    let first = store.query_users(&q).await.unwrap();
    let cursor = q.cursor_after(&first[1]);
    let mut late = user(&ws, 9, "aardvark", "aardvark@example.com");
    late.user_name = "aardvark".into();
    insert(&store, late).await;
    q = UserQuery::build(
        &ws,
        QueryRequest {
            cursor: Some(cursor),
            ..request(None, SortField::UserName, false)
        },
    )
    .unwrap();
    assert_eq!(matched_page(&store, &q).await, ["charlie", "delta"]);
}

async fn matched_page(store: &Arc<dyn Store>, query: &UserQuery) -> Vec<String> {
    store
        .query_users(query)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect()
}

pub async fn users_are_found_by_many_ids_within_their_workspace(store: Arc<dyn Store>) {
    let ws = people(&store).await;
    let mut found: Vec<String> = store
        .find_users_by_ids(
            ws.key,
            &[
                "usr_acme_1".into(),
                "usr_acme_3".into(),
                "usr_acme_4".into(),
                "usr_other_5".into(),
                "usr_nobody".into(),
            ],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    found.sort();
    // The deleted user and the other workspace's are not found.
    assert_eq!(found, ["Ann Lee", "Cy Annis"]);
}

async fn count_all(store: &Arc<dyn Store>, ws: &Workspace) -> u64 {
    store.count_users(&query(ws, Condition::All)).await.unwrap()
}

/// The count of every live user (an unfiltered list's total) follows creations, imports,
/// soft deletes, restores and purges, per workspace.
pub async fn the_count_of_live_users_follows_every_write(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    assert_eq!(count_all(&store, &ws).await, 0);
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(insert(&store, user(&ws, n, "U", &format!("u{n}@example.com"))).await);
    }
    let mut born_deleted = user(&ws, 9, "D", "d@example.com");
    born_deleted.deleted_at = Some(t0());
    insert(&store, born_deleted.clone()).await;
    insert(&store, user(&other, 5, "O", "o@example.com")).await;
    assert_eq!(count_all(&store, &ws).await, 4);
    let mut gone = users[0].clone();
    gone.deleted_at = Some(t0());
    update_with(&store, &mut gone, &Default::default())
        .await
        .unwrap();
    assert_eq!(count_all(&store, &ws).await, 3);
    gone.deleted_at = None;
    update_with(&store, &mut gone, &Default::default())
        .await
        .unwrap();
    assert_eq!(count_all(&store, &ws).await, 4);
    // A change that leaves the user live or deleted does not move the count.
    gone.name = "Renamed".into();
    update_with(&store, &mut gone, &Default::default())
        .await
        .unwrap();
    assert_eq!(count_all(&store, &ws).await, 4);
    assert!(store.purge_user(ws.key, users[1].key, &ev()).await.unwrap());
    let deleted = store
        .find_user_by_uuid(ws.key, born_deleted.uuid)
        .await
        .unwrap()
        .unwrap();
    assert!(store.purge_user(ws.key, deleted.key, &ev()).await.unwrap());
    assert_eq!(count_all(&store, &ws).await, 3);
    let imported = roster_core::store::ImportWrite {
        user: user(&ws, 7, "I", "i@example.com"),
        expected_version: None,
        password_hash: None,
        plan: Vec::new(),
    };
    store
        .import_users(ws.key, &[imported], &ev())
        .await
        .unwrap();
    assert_eq!(count_all(&store, &ws).await, 4);
    assert_eq!(count_all(&store, &other).await, 1);
}

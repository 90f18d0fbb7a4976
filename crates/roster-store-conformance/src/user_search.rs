//! Search (`UserListRequest::search`) as a property: for random names, emails and needles,
//! the store returns exactly the users whose name or email holds the needle, whatever plan
//! answers it, with and without filters, across pages.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use roster_core::query::{Condition, Operand, Operator, QueryRequest, UserField, UserQuery};
use roster_core::{Store, User, UserListRequest, UserStatus, Workspace};

use crate::fixtures::*;

/// Syllables that share trigrams, so needles range from matching nobody to nearly everyone.
const SYLLABLES: &[&str] = &[
    "an", "na", "ban", "Ana", "nn", "o", "Zo", "ë", "é", " ", "ra",
];
const DOMAINS: &[&str] = &["ex.com", "ex.org", "banana.io"];

fn word(rng: &mut StdRng, syllables: usize) -> String {
    (0..syllables)
        .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
        .collect()
}

/// A needle: usually a piece of a user's name or email with its case changed here and
/// there, sometimes a made-up one.
fn needle(rng: &mut StdRng, users: &[User]) -> String {
    if rng.gen_bool(0.2) {
        let syllables = rng.gen_range(2..5);
        return word(rng, syllables);
    }
    let user = &users[rng.gen_range(0..users.len())];
    let source: Vec<char> = if rng.gen_bool(0.5) {
        user.name.chars().collect()
    } else {
        user.email.chars().collect()
    };
    let len = rng.gen_range(3..=source.len().clamp(3, 12));
    let start = rng.gen_range(0..=source.len().saturating_sub(len));
    source[start..(start + len).min(source.len())]
        .iter()
        .map(|c| {
            if rng.gen_bool(0.3) {
                c.to_uppercase().next().unwrap_or(*c)
            } else {
                *c
            }
        })
        .collect()
}

fn holds(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

/// Every page of `request`, `size` users at a time, by keyset.
async fn all_pages(store: &Arc<dyn Store>, request: &UserListRequest, size: u32) -> Vec<i64> {
    let mut request = request.clone();
    request.limit = size;
    let mut keys = Vec::new();
    loop {
        let page = store.list_users(&request).await.unwrap();
        keys.extend(page.iter().map(|u| u.key));
        match page.last() {
            Some(last) if page.len() == size as usize => request.before_key = Some(last.key),
            _ => return keys,
        }
    }
}

/// A workspace of `count` users with names and emails made of the syllables, each
/// written in its own commit.
pub async fn workspace_with_users(store: &Arc<dyn Store>, count: u32) -> Workspace {
    let mut rng = StdRng::seed_from_u64(17);
    let ws = add_workspace(store, "bulk").await;
    for n in 0..count {
        let name = format!("{} {}", word(&mut rng, 3), word(&mut rng, 2));
        insert(store, user(&ws, n, &name, &format!("u.{n}@ex.com"))).await;
    }
    ws
}

/// Add user `n` to `ws` in a commit of its own.
pub async fn add_user(store: &Arc<dyn Store>, ws: &Workspace, n: u32) -> User {
    insert(
        store,
        user(ws, n, &format!("Added {n}"), &format!("added.{n}@ex.com")),
    )
    .await
}

/// The keys of every live user of `ws` whose name or email holds `needle`.
pub async fn search_keys(store: &Arc<dyn Store>, ws: &Workspace, needle: &str) -> Vec<i64> {
    let mut request = list(ws);
    request.search = Some(needle.to_owned());
    all_pages(store, &request, 100).await
}

/// The live users of `users` (or all, with `include_deleted`) with this role and status
/// whose name or email holds `needle`, newest first.
fn expected(
    users: &[User],
    needle: &str,
    role: Option<&str>,
    status: Option<UserStatus>,
    include_deleted: bool,
) -> Vec<i64> {
    let mut keys: Vec<i64> = users
        .iter()
        .filter(|u| include_deleted || u.deleted_at.is_none())
        .filter(|u| role.is_none_or(|r| u.role == r))
        .filter(|u| status.is_none_or(|s| u.status == s))
        .filter(|u| holds(&u.name, needle) || holds(&u.email, needle))
        .map(|u| u.key)
        .collect();
    keys.sort_unstable_by(|a, b| b.cmp(a));
    keys
}

/// SCIM's `co` (a query's condition) finds the same users as a search: on the name or the
/// email, and on the email, the name or the user name alone, page and count alike. Only
/// ASCII needles of three characters or more: shorter ones are a case-sensitive scan, and
/// beyond ASCII each store folds case its own way (PostgreSQL's ILIKE by the database's
/// locale).
async fn scim_substrings_match_the_same(
    store: &Arc<dyn Store>,
    ws: &Workspace,
    users: &[User],
    needle: &str,
) {
    if !needle.is_ascii() || needle.chars().count() < 3 {
        return;
    }
    let contains =
        |field| Condition::Compare(field, Operator::Contains, Operand::Text(needle.into()));
    let either = Condition::Or(vec![contains(UserField::Name), contains(UserField::Email)]);
    let live = |u: &&User| u.deleted_at.is_none();
    for (condition, holder) in [
        (
            either,
            &(|u: &User| holds(&u.name, needle) || holds(&u.email, needle))
                as &dyn Fn(&User) -> bool,
        ),
        (contains(UserField::Email), &|u: &User| {
            holds(&u.email, needle)
        }),
        // Alone, each field's count walks that field's own index (SQLite).
        (contains(UserField::Name), &|u: &User| {
            holds(&u.name, needle)
        }),
        (contains(UserField::UserName), &|u: &User| {
            holds(&u.user_name, needle)
        }),
    ] {
        let mut expected: Vec<i64> = users
            .iter()
            .filter(live)
            .filter(|u| holder(u))
            .map(|u| u.key)
            .collect();
        expected.sort_unstable();
        let query = UserQuery::build(
            ws,
            QueryRequest {
                condition: Some(condition.clone()),
                limit: 200,
                ..QueryRequest::default()
            },
        )
        .unwrap();
        let found: Vec<i64> = store
            .query_users(&query)
            .await
            .unwrap()
            .iter()
            .map(|u| u.key)
            .collect();
        assert_eq!(found, expected, "query {condition:?}");
        assert_eq!(
            store.count_users(&query).await.unwrap(),
            expected.len() as u64,
            "count {condition:?}"
        );
    }
}

/// 160 users of random names, emails, roles and statuses (a tenth deleted) in `ws`, and
/// look-alikes in another workspace, which are never found from `ws`.
async fn populate(store: &Arc<dyn Store>, rng: &mut StdRng, ws: &Workspace) -> Vec<User> {
    let other = add_workspace(store, "other").await;
    let mut users = Vec::new();
    for n in 0..160 {
        let name = format!("{} {}", word(rng, 3), word(rng, 2));
        let email = format!(
            "{}.{n}@{}",
            word(rng, 2).replace(' ', "_"),
            DOMAINS[rng.gen_range(0..DOMAINS.len())]
        );
        let mut u = user(ws, n, &name, &email);
        u.role = ["admin", "editor", "viewer"][rng.gen_range(0..3)].into();
        u.status = [
            UserStatus::Active,
            UserStatus::Invited,
            UserStatus::Inactive,
        ][rng.gen_range(0..3)];
        if rng.gen_bool(0.1) {
            u.deleted_at = Some(u.created_at);
        }
        users.push(insert(store, u).await);
    }
    for (n, twin) in (0..20).zip(&users) {
        let email = format!("twin.{}", twin.email);
        insert(store, user(&other, n, &twin.name, &email)).await;
    }
    users
}

pub async fn search_returns_exactly_the_users_holding_the_substring(store: Arc<dyn Store>) {
    let mut rng = StdRng::seed_from_u64(16);
    let ws = add_workspace(&store, "acme").await;
    let users = populate(&store, &mut rng, &ws).await;
    for _ in 0..40 {
        let needle = needle(&mut rng, &users);
        for (role, status) in [
            (None, None),
            (Some("editor"), None),
            (None, Some(UserStatus::Active)),
            (Some("viewer"), Some(UserStatus::Invited)),
        ] {
            let mut request = list(&ws);
            request.search = Some(needle.clone());
            request.role = role.map(str::to_owned);
            request.status = status;
            let unsearched = expected(&users, "", role, status, false).len() as u64;
            let expected = expected(&users, &needle, role, status, false);
            let found = all_pages(&store, &request, 4).await;
            assert_eq!(
                found, expected,
                "search {needle:?}, role {role:?}, status {status:?}"
            );
            // A numbered page skips the matches before it.
            request.offset = 2;
            request.limit = 3;
            let page: Vec<i64> = store
                .list_users(&request)
                .await
                .unwrap()
                .iter()
                .map(|u| u.key)
                .collect();
            let skipped: Vec<i64> = expected.iter().skip(2).take(3).copied().collect();
            assert_eq!(page, skipped, "offset 2 of search {needle:?}");
            // A count that stops: every match up to its limit, none read whole.
            request.offset = 0;
            for limit in [1, 5, 1000] {
                request.limit = limit;
                let counted = store.count_users_upto(&request).await.unwrap();
                let wanted = expected.len().min(limit as usize) as u64;
                assert_eq!(
                    counted, wanted,
                    "count of {needle:?} up to {limit}, role {role:?}, status {status:?}"
                );
            }
            request.search = None;
            request.limit = 7;
            let counted = store.count_users_upto(&request).await.unwrap();
            assert_eq!(
                counted,
                unsearched.min(7),
                "count up to 7, role {role:?}, status {status:?}"
            );
        }
        scim_substrings_match_the_same(&store, &ws, &users, &needle).await;
        // Deleted users are found when asked for.
        let mut with_deleted = list(&ws);
        with_deleted.search = Some(needle.clone());
        with_deleted.include_deleted = true;
        assert_eq!(
            all_pages(&store, &with_deleted, 7).await,
            expected(&users, &needle, None, None, true),
            "{needle:?} with deleted"
        );
    }
}

/// The search index's background upkeep comes to an end, and searches answer the same
/// before, during and after it.
pub async fn search_index_upkeep_ends_and_searches_answer_the_same(store: Arc<dyn Store>) {
    let ws = workspace_with_users(&store, 1500).await;
    let before = search_keys(&store, &ws, "ann").await;
    assert!(!before.is_empty());
    // A store may wait for a look that sees no new user before it starts: upkeep is over
    // when two looks in a row find nothing to do.
    let (mut steps, mut idle) = (0, 0);
    while idle < 2 {
        if store.tidy_search_index().await.unwrap() {
            steps += 1;
            idle = 0;
        } else {
            idle += 1;
        }
        assert!(steps < 10_000, "upkeep never ends");
        if steps % 5 == 0 {
            assert_eq!(search_keys(&store, &ws, "ann").await, before);
        }
    }
    assert!(
        !store.tidy_search_index().await.unwrap(),
        "nothing left to do"
    );
    assert_eq!(search_keys(&store, &ws, "ann").await, before);
}

/// Gathering the planner's statistics again (after a bulk write) changes no answer, and
/// names each table it did once.
pub async fn statistics_refresh_changes_no_answer(store: Arc<dyn Store>) {
    let ws = workspace_with_users(&store, 300).await;
    let before = search_keys(&store, &ws, "ann").await;
    assert!(!before.is_empty());
    let done = store.refresh_statistics().await.unwrap();
    let mut distinct = done.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), done.len(), "{done:?}");
    assert_eq!(search_keys(&store, &ws, "ann").await, before);
}

//! Groups and memberships (`GroupStore`).

use std::sync::Arc;

use chrono::Duration;
use roster_core::group::Membership;
use roster_core::plan::UserSideEffects;
use roster_core::store::{StoreError, UniqueKey, UpdateOutcome};
use roster_core::Store;

use crate::fixtures::*;

/// A user written with its groups: all of it commits, or (a group gone, here a key that
/// was never a group, or another workspace's) none of it: no user, no membership, no event.
pub async fn users_join_groups_in_their_own_write(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let mut finance = group(ws.key, 1, "Finance");
    finance.key = store
        .write_group(&finance, None, &[], &[ev()])
        .await
        .unwrap();
    let mut elsewhere = group(other.key, 2, "Elsewhere");
    elsewhere.key = store
        .write_group(&elsewhere, None, &[], &[ev()])
        .await
        .unwrap();
    let join = |group_key: i64| Membership {
        group_key,
        user_key: 0,
        added_at: t0(),
        expires_at: Some(t0() + Duration::days(30)),
    };
    let events_before = store.audit_chain(ws.key, 0, 100).await.unwrap().len();
    for bad in [i64::MAX, elsewhere.key] {
        let ann = user(&ws, 1, "Ann", "ann@example.com");
        let effects = UserSideEffects {
            join_groups: vec![join(finance.key), join(bad)],
            ..UserSideEffects::default()
        };
        let failed = store.insert_user(&ann, &ev(), &plan(&effects)).await;
        assert!(matches!(failed, Err(StoreError::Stale)), "{failed:?}");
        assert!(store.get_user(ws.key, &ann.id).await.unwrap().is_none());
    }
    assert!(store
        .list_members(ws.key, finance.key, t0(), None, 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.audit_chain(ws.key, 0, 100).await.unwrap().len(),
        events_before,
        "no event for a write that did not happen"
    );
    let ann = user(&ws, 1, "Ann", "ann@example.com");
    let effects = UserSideEffects {
        join_groups: vec![join(finance.key)],
        ..UserSideEffects::default()
    };
    let key = store
        .insert_user(&ann, &ev(), &plan(&effects))
        .await
        .unwrap();
    let groups = groups_of(&store, ws.key, key, t0()).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].0.id, finance.id);
    assert_eq!(groups[0].1.expires_at, Some(t0() + Duration::days(30)));

    updates_join_groups_in_their_own_write(&store, &ws, &ann.id, key).await;
}

/// An update with a new name, a password and two groups, one of them gone: nothing of it is
/// written, and no event; without the gone group it all commits together.
async fn updates_join_groups_in_their_own_write(
    store: &Arc<dyn Store>,
    ws: &roster_core::Workspace,
    ann_id: &str,
    key: i64,
) {
    let join = |group_key: i64| Membership {
        group_key,
        user_key: 0,
        added_at: t0(),
        expires_at: Some(t0() + Duration::days(30)),
    };
    let mut stored = store.get_user(ws.key, ann_id).await.unwrap().unwrap();
    let mut treasury = group(ws.key, 3, "Treasury");
    treasury.key = store
        .write_group(&treasury, None, &[], &[ev()])
        .await
        .unwrap();
    let events_before = store.audit_chain(ws.key, 0, 100).await.unwrap().len();
    let expected = stored.version;
    let mut changed = stored.clone();
    changed.name = "Ann Changed".into();
    changed.version += 1;
    let effects = UserSideEffects {
        password_hash: Some("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".into()),
        join_groups: vec![join(treasury.key), join(i64::MAX)],
        ..UserSideEffects::default()
    };
    assert!(store
        .update_user(&changed, expected, &ev(), &plan(&effects))
        .await
        .is_err());
    let after = store.get_user(ws.key, ann_id).await.unwrap().unwrap();
    assert_eq!((after.name.as_str(), after.version), ("Ann", expected));
    assert_eq!(groups_of(store, ws.key, key, t0()).await.len(), 1);
    assert_eq!(
        store.audit_chain(ws.key, 0, 100).await.unwrap().len(),
        events_before
    );
    // Without the gone group it all commits together.
    let effects = UserSideEffects {
        join_groups: vec![join(treasury.key)],
        ..effects
    };
    assert_eq!(
        store
            .update_user(&changed, expected, &ev(), &plan(&effects))
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );
    stored = store.get_user(ws.key, ann_id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Ann Changed");
    assert_eq!(groups_of(store, ws.key, key, t0()).await.len(), 2);
}

pub async fn groups_hold_members_until_they_expire(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let ann = insert(&store, user(&ws, 1, "Ann", "ann@example.com")).await;
    let bob = insert(&store, user(&ws, 2, "Bob", "bob@example.com")).await;
    let eve = insert(&store, user(&other, 3, "Eve", "eve@example.com")).await;

    let mut finance = group(ws.key, 1, "Finance");
    finance.key = store
        .write_group(&finance, None, &[], &[ev()])
        .await
        .unwrap();
    assert!(matches!(
        store
            .write_group(&group(ws.key, 2, "FINANCE"), None, &[], &[ev()])
            .await,
        Err(StoreError::Unique(UniqueKey::GroupName))
    ));
    // Another workspace may use the name.
    store
        .write_group(&group(other.key, 3, "Finance"), None, &[], &[ev()])
        .await
        .unwrap();
    assert_eq!(
        store.find_group(ws.key, &finance.id).await.unwrap(),
        Some(finance.clone())
    );
    assert_eq!(
        store.find_group(other.key, &finance.id).await.unwrap(),
        None
    );

    let now = t0() + Duration::days(1);
    let forever = Membership {
        group_key: finance.key,
        user_key: ann.key,
        added_at: t0(),
        expires_at: None,
    };
    let until = Membership {
        group_key: finance.key,
        user_key: bob.key,
        added_at: t0(),
        expires_at: Some(now + Duration::hours(1)),
    };
    store.put_membership(ws.key, &forever, &ev()).await.unwrap();
    store.put_membership(ws.key, &until, &ev()).await.unwrap();
    // A user of another workspace cannot be put in.
    let foreign = Membership {
        user_key: eve.key,
        ..forever.clone()
    };
    store.put_membership(ws.key, &foreign, &ev()).await.unwrap();

    let scene = Scene {
        ws,
        other,
        ann,
        bob,
        finance,
        forever,
        until,
        now,
        later: now + Duration::hours(2),
    };
    members_count_until_they_expire(&store, &scene).await;
    lists_filter_by_group(&store, &scene).await;
    groups_of_users_read_a_page_at_once(&store, &scene).await;
    memberships_change_and_groups_go(&store, scene).await;
}

/// A group with two members (one until an hour after `now`), in `ws` beside `other`.
struct Scene {
    ws: roster_core::Workspace,
    other: roster_core::Workspace,
    ann: roster_core::User,
    bob: roster_core::User,
    finance: roster_core::group::Group,
    forever: Membership,
    until: Membership,
    now: chrono::DateTime<chrono::Utc>,
    later: chrono::DateTime<chrono::Utc>,
}

/// The members as of a time: an expired membership no longer counts; pages by user key.
async fn members_count_until_they_expire(store: &Arc<dyn Store>, scene: &Scene) {
    let Scene {
        ws,
        ann,
        bob,
        finance,
        until,
        now,
        ..
    } = scene;
    let (now, later) = (*now, scene.later);
    let members = store
        .list_members(ws.key, finance.key, now, None, 10)
        .await
        .unwrap();
    let ids: Vec<&str> = members.iter().map(|(u, _)| u.id.as_str()).collect();
    assert_eq!(ids, [bob.id.as_str(), ann.id.as_str()]);
    assert_eq!(&members[0].1, until);
    let members = store
        .list_members(ws.key, finance.key, later, None, 10)
        .await
        .unwrap();
    assert_eq!(members.len(), 1, "an expired membership no longer counts");
    let page = store
        .list_members(ws.key, finance.key, now, Some(bob.key), 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
}

/// Users filtered by group, with and without other filters.
async fn lists_filter_by_group(store: &Arc<dyn Store>, scene: &Scene) {
    let Scene {
        ws,
        ann,
        bob,
        finance,
        now,
        later,
        ..
    } = scene;
    let (now, later) = (*now, *later);
    let mut request = list(ws);
    request.group_key = Some(finance.key);
    request.as_of = now;
    let listed: Vec<String> = store
        .list_users(&request)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(listed, [bob.id.clone(), ann.id.clone()]);
    request.as_of = later;
    request.search = Some("ann".into());
    let listed: Vec<String> = store
        .list_users(&request)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(listed, [ann.id.as_str()]);
    request.search = Some("bob".into());
    assert!(store.list_users(&request).await.unwrap().is_empty());
}

async fn groups_of_users_read_a_page_at_once(store: &Arc<dyn Store>, scene: &Scene) {
    let Scene {
        ws,
        ann,
        bob,
        finance,
        now,
        later,
        ..
    } = scene;
    let (now, later) = (*now, *later);
    let groups = groups_of(store, ws.key, bob.key, now).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].0.id, finance.id);
    // A page's users in one read: a key whose user is gone (or never was) has no groups
    // and is no error.
    let page = store
        .groups_of_users(ws.key, &[ann.key, bob.key, i64::MAX], now)
        .await
        .unwrap();
    let keys: Vec<i64> = page.iter().map(|(key, _, _)| *key).collect();
    let ann_groups = groups_of(store, ws.key, ann.key, now).await.len();
    let mut expected = vec![ann.key; ann_groups];
    expected.push(bob.key);
    expected.sort_unstable();
    assert_eq!(keys, expected, "by user, and none for a key without a user");
    assert!(groups_of(store, ws.key, bob.key, later).await.is_empty());
}

async fn memberships_change_and_groups_go(store: &Arc<dyn Store>, scene: Scene) {
    let Scene {
        ws,
        other,
        ann,
        bob,
        finance,
        forever,
        until,
        now,
        later,
    } = scene;
    // Changing the expiry replaces it.
    let extended = Membership {
        expires_at: None,
        ..until.clone()
    };
    store
        .put_membership(ws.key, &extended, &ev())
        .await
        .unwrap();
    assert_eq!(groups_of(store, ws.key, bob.key, later).await.len(), 1);

    // Renaming.
    let mut renamed = finance.clone();
    renamed.name = "Treasury".into();
    renamed.description = Some("Money".into());
    assert!(
        store
            .write_group(&renamed, None, &[], &[ev()])
            .await
            .unwrap()
            > 0
    );
    assert_eq!(
        store.find_group(ws.key, &finance.id).await.unwrap(),
        Some(renamed.clone())
    );

    // Leaving every group with a user write.
    let mut bob = bob;
    let leave = UserSideEffects {
        leave_groups: true,
        ..UserSideEffects::default()
    };
    update_with(store, &mut bob, &leave).await.unwrap();
    assert!(groups_of(store, ws.key, bob.key, now).await.is_empty());

    assert!(store
        .delete_membership(ws.key, finance.key, ann.key, &ev())
        .await
        .unwrap());
    assert!(!store
        .delete_membership(ws.key, finance.key, ann.key, &ev())
        .await
        .unwrap());
    store.put_membership(ws.key, &forever, &ev()).await.unwrap();
    assert!(
        !store
            .delete_group(other.key, finance.key, &ev())
            .await
            .unwrap(),
        "not another workspace's"
    );
    assert!(store
        .delete_group(ws.key, finance.key, &ev())
        .await
        .unwrap());
    assert_eq!(store.find_group(ws.key, &finance.id).await.unwrap(), None);
    assert!(groups_of(store, ws.key, ann.key, now).await.is_empty());
    let all = store.list_groups(ws.key, None, 10).await.unwrap();
    assert!(all.is_empty());
    assert_eq!(
        store.list_groups(other.key, None, 10).await.unwrap().len(),
        1
    );
}

pub async fn groups_are_found_by_key_within_their_workspace(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let mut gold = group(ws.key, 1, "Gold");
    gold.key = store.write_group(&gold, None, &[], &[ev()]).await.unwrap();
    let mut theirs = group(other.key, 2, "Gold");
    theirs.key = store
        .write_group(&theirs, None, &[], &[ev()])
        .await
        .unwrap();

    let found = store.find_group_by_key(ws.key, gold.key).await.unwrap();
    assert_eq!(found.as_ref(), Some(&gold));
    assert_eq!(
        store.find_group_by_key(ws.key, theirs.key).await.unwrap(),
        None
    );
    assert!(store.delete_group(ws.key, gold.key, &ev()).await.unwrap());
    assert_eq!(
        store.find_group_by_key(ws.key, gold.key).await.unwrap(),
        None
    );
}

/// A group written with many membership changes: inserted with its members, changed only
/// at the version expected (a stale write changes nothing), members of another workspace
/// skipped, and every event in the same commit.
pub async fn groups_change_many_members_in_one_conditional_write(store: Arc<dyn Store>) {
    use roster_core::store::MembershipWrite;
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let mut users = Vec::new();
    for n in 0..50 {
        users.push(
            insert(
                &store,
                user(&ws, n, &format!("U{n}"), &format!("u{n}@example.com")),
            )
            .await,
        );
    }
    let stranger = insert(&store, user(&other, 99, "S", "s@example.com")).await;
    let put = |user_key| {
        MembershipWrite::Put(Membership {
            group_key: 0,
            user_key,
            added_at: t0(),
            expires_at: None,
        })
    };
    let mut writes: Vec<MembershipWrite> = users.iter().map(|u| put(u.key)).collect();
    writes.push(put(stranger.key));
    let events_before = store.audit_chain(ws.key, 0, 1000).await.unwrap().len();
    let mut team = group(ws.key, 1, "Team");
    team.key = store
        .write_group(&team, None, &writes, &[ev(), ev()])
        .await
        .unwrap();
    assert!(team.key > 0);
    let members = store
        .list_members(ws.key, team.key, t0(), None, 1000)
        .await
        .unwrap();
    assert_eq!(members.len(), 50);
    assert_eq!(
        store.audit_chain(ws.key, 0, 1000).await.unwrap().len(),
        events_before + 2
    );
    renames_and_removals_are_conditional(&store, &ws, &mut team, &users).await;
    // A group that is gone is reported as such.
    let mut gone = team.clone();
    gone.key = i64::MAX;
    assert_eq!(store.write_group(&gone, None, &[], &[]).await.unwrap(), 0);
}

/// Renamed with half the members removed at the version read; a write at the old version
/// afterwards is stale and changes nothing.
async fn renames_and_removals_are_conditional(
    store: &Arc<dyn Store>,
    ws: &roster_core::Workspace,
    team: &mut roster_core::group::Group,
    users: &[roster_core::User],
) {
    use roster_core::store::MembershipWrite;
    let removals: Vec<MembershipWrite> = users[..25]
        .iter()
        .map(|u| MembershipWrite::Delete { user_key: u.key })
        .collect();
    let read_at = team.updated_at;
    team.name = "Crew".into();
    team.updated_at = t0() + Duration::seconds(5);
    assert_eq!(
        store
            .write_group(team, Some(read_at), &removals, &[ev()])
            .await
            .unwrap(),
        team.key
    );
    assert_eq!(
        store
            .list_members(ws.key, team.key, t0(), None, 1000)
            .await
            .unwrap()
            .len(),
        25
    );
    // A write made at the old version is stale and changes nothing.
    let stale = store
        .write_group(
            team,
            Some(read_at),
            &[MembershipWrite::Delete {
                user_key: users[30].key,
            }],
            &[ev()],
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
    assert_eq!(
        store
            .list_members(ws.key, team.key, t0(), None, 1000)
            .await
            .unwrap()
            .len(),
        25
    );
    let found = store.find_group(ws.key, &team.id).await.unwrap().unwrap();
    assert_eq!(
        (found.name.as_str(), found.updated_at),
        ("Crew", team.updated_at)
    );
}

//! Conformance cases of the lifecycle: invitations, purging, groups, the outbox, roles.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use roster_core::group::{Group, Membership};
use roster_core::invitation::{Invitation, InvitationSettings};
use roster_core::outbox::{Delivery, Mail, MailStatus, OutboxQuery};
use roster_core::plan::UserSideEffects;
use roster_core::session::{EndSessions, Session, SessionKind};
use roster_core::store::{SessionStart, StoreError, UniqueKey, UpdateOutcome, UserWrite};
use roster_core::{Store, User};
use sha2::{Digest, Sha256};

use crate::cases::{add_workspace, ev, insert, list, t0, user};

fn invitation(id: &str, ws_key: i64, token: &str, at: DateTime<Utc>) -> Invitation {
    Invitation {
        id: id.to_owned(),
        workspace_key: ws_key,
        user_key: 0,
        token_hash: Sha256::digest(token.as_bytes()).into(),
        created_at: at,
        expires_at: at + Duration::days(7),
        accepted_at: None,
        revoked_at: None,
    }
}

fn mail(id: &str, ws_key: i64, at: DateTime<Utc>) -> Mail {
    Mail {
        key: 0,
        id: id.to_owned(),
        workspace_key: ws_key,
        user_key: None,
        kind: "invitation".into(),
        recipient: "ann@example.com".into(),
        subject: "Join".into(),
        text: Some(format!("token of {id}")),
        status: MailStatus::Pending,
        attempts: 0,
        next_attempt_at: at,
        last_error: None,
        created_at: at,
        sent_at: None,
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn outbox(ws_key: i64) -> OutboxQuery {
    OutboxQuery {
        workspace_key: ws_key,
        status: None,
        before_key: None,
        limit: 100,
    }
}

/// One user's current groups, through the page-wide read.
async fn groups_of(
    store: &Arc<dyn Store>,
    workspace_key: i64,
    user_key: i64,
    now: DateTime<Utc>,
) -> Vec<(Group, Membership)> {
    store
        .groups_of_users(workspace_key, &[user_key], now)
        .await
        .unwrap()
        .into_iter()
        .map(|(key, group, membership)| {
            assert_eq!(key, user_key);
            (group, membership)
        })
        .collect()
}

/// Write `user` at its next version with `effects`.
async fn update_with(
    store: &Arc<dyn Store>,
    user: &mut User,
    effects: &UserSideEffects,
) -> Result<UpdateOutcome, StoreError> {
    let expected = user.version;
    user.version += 1;
    user.updated_at += Duration::seconds(1);
    store
        .update_user(user, expected, &ev(), &plan(effects))
        .await
}

/// An imported new user can carry its invitation and mail: written in the batch's
/// transaction, for the user's new key.
pub async fn imports_issue_invitations_with_their_users(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut ann = user(&ws, 1, "Ann", "ann@example.com");
    ann.status = roster_core::UserStatus::Invited;
    let plain = user(&ws, 2, "Bo", "bo@example.com");
    let writes = [
        roster_core::store::ImportWrite {
            user: ann.clone(),
            expected_version: None,
            password_hash: None,
            plan: vec![
                UserWrite::InsertInvitation(invitation("inv_1", ws.key, "inv_imported", t0())),
                UserWrite::QueueMail(mail("mail_1", ws.key, t0())),
            ],
        },
        roster_core::store::ImportWrite {
            user: plain,
            expected_version: None,
            password_hash: None,
            plan: Vec::new(),
        },
    ];
    store.import_users(ws.key, &writes, &ev()).await.unwrap();
    let stored = store.get_user(ws.key, &ann.id).await.unwrap().unwrap();
    let (found, holder, _) = store
        .find_invitation(&hash("inv_imported"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.user_key, holder.id), (stored.key, ann.id.clone()));
    let mails = store.list_outbox(&outbox(ws.key)).await.unwrap();
    assert_eq!(mails.len(), 1, "only the invited user's mail");
    assert_eq!(mails[0].user_key, Some(stored.key));
}

pub async fn invitations_are_single_use_and_replaced(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut ann = user(&ws, 1, "Ann", "ann@example.com");
    let effects = UserSideEffects {
        invitation: Some(invitation("inv_1", ws.key, "inv_first", t0())),
        mail: Some(mail("mail_1", ws.key, t0())),
        ..UserSideEffects::default()
    };
    ann.key = store
        .insert_user(&ann, &ev(), &plan(&effects))
        .await
        .unwrap();

    let (found, holder, ws_id) = store
        .find_invitation(&hash("inv_first"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            found.id.as_str(),
            found.user_key,
            holder.id.as_str(),
            ws_id.as_str()
        ),
        ("inv_1", ann.key, ann.id.as_str(), ws.id.as_str())
    );
    assert_eq!(found.revoked_at, None);
    assert!(store
        .find_invitation(&hash("inv_other"))
        .await
        .unwrap()
        .is_none());
    let mails = store.list_outbox(&outbox(ws.key)).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].user_key, Some(ann.key));

    // A new invitation revokes the pending one.
    let resend = UserSideEffects {
        invitation: Some(invitation(
            "inv_2",
            ws.key,
            "inv_second",
            t0() + Duration::hours(1),
        )),
        ..UserSideEffects::default()
    };
    assert_eq!(
        update_with(&store, &mut ann, &resend).await.unwrap(),
        UpdateOutcome::Updated
    );
    let (old, _, _) = store
        .find_invitation(&hash("inv_first"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.revoked_at, Some(ann.updated_at));
    // Its mail, still pending, is withdrawn with its dead token.
    let mails = store.list_outbox(&outbox(ws.key)).await.unwrap();
    assert_eq!(
        (mails[0].status, mails[0].text.as_deref()),
        (MailStatus::Withdrawn, None)
    );

    // Accepting a revoked invitation writes nothing, the user included.
    let version = ann.version;
    let accept_old = UserSideEffects {
        accept_invitation: Some("inv_1".into()),
        password_hash: Some(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        ),
        ..UserSideEffects::default()
    };
    let mut attempt = ann.clone();
    assert!(matches!(
        update_with(&store, &mut attempt, &accept_old).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(
        store
            .get_user(ws.key, &ann.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        version
    );

    // The pending one is accepted once.
    let accept = UserSideEffects {
        accept_invitation: Some("inv_2".into()),
        ..UserSideEffects::default()
    };
    assert_eq!(
        update_with(&store, &mut ann, &accept).await.unwrap(),
        UpdateOutcome::Updated
    );
    let (used, _, _) = store
        .find_invitation(&hash("inv_second"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.accepted_at, Some(ann.updated_at));
    let mut again = ann.clone();
    assert!(matches!(
        update_with(&store, &mut again, &accept).await,
        Err(StoreError::Stale)
    ));

    // Revocation on its own (deactivation, deletion).
    let third = UserSideEffects {
        invitation: Some(invitation("inv_3", ws.key, "inv_third", t0())),
        ..UserSideEffects::default()
    };
    update_with(&store, &mut ann, &third).await.unwrap();
    let revoke = UserSideEffects {
        revoke_invitations: true,
        ..UserSideEffects::default()
    };
    update_with(&store, &mut ann, &revoke).await.unwrap();
    let (third, _, _) = store
        .find_invitation(&hash("inv_third"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.revoked_at, Some(ann.updated_at));
    // The accepted one stays accepted, not revoked.
    let (used, _, _) = store
        .find_invitation(&hash("inv_second"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.revoked_at, None);
}

fn group(ws_key: i64, n: u32, name: &str) -> Group {
    Group {
        key: 0,
        id: format!("grp_{ws_key}_{n}"),
        workspace_key: ws_key,
        name: name.to_owned(),
        description: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// A user written with its groups: all of it commits, or (a group gone, here a key that
/// was never a group, or another workspace's) none of it: no user, no membership, no event.
pub async fn users_join_groups_in_their_own_write(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let mut finance = group(ws.key, 1, "Finance");
    finance.key = store.insert_group(&finance, &ev()).await.unwrap();
    let mut elsewhere = group(other.key, 2, "Elsewhere");
    elsewhere.key = store.insert_group(&elsewhere, &ev()).await.unwrap();
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

    // An update with a new name, a password and two groups, one of them gone: nothing of
    // it is written, and no event.
    let mut stored = store.get_user(ws.key, &ann.id).await.unwrap().unwrap();
    let mut treasury = group(ws.key, 3, "Treasury");
    treasury.key = store.insert_group(&treasury, &ev()).await.unwrap();
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
    let after = store.get_user(ws.key, &ann.id).await.unwrap().unwrap();
    assert_eq!((after.name.as_str(), after.version), ("Ann", expected));
    assert_eq!(groups_of(&store, ws.key, key, t0()).await.len(), 1);
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
    stored = store.get_user(ws.key, &ann.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Ann Changed");
    assert_eq!(groups_of(&store, ws.key, key, t0()).await.len(), 2);
}

pub async fn groups_hold_members_until_they_expire(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let ann = insert(&store, user(&ws, 1, "Ann", "ann@example.com")).await;
    let bob = insert(&store, user(&ws, 2, "Bob", "bob@example.com")).await;
    let eve = insert(&store, user(&other, 3, "Eve", "eve@example.com")).await;

    let mut finance = group(ws.key, 1, "Finance");
    finance.key = store.insert_group(&finance, &ev()).await.unwrap();
    assert!(matches!(
        store
            .insert_group(&group(ws.key, 2, "FINANCE"), &ev())
            .await,
        Err(StoreError::Unique(UniqueKey::GroupName))
    ));
    // Another workspace may use the name.
    store
        .insert_group(&group(other.key, 3, "Finance"), &ev())
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

    let members = store
        .list_members(ws.key, finance.key, now, None, 10)
        .await
        .unwrap();
    let ids: Vec<&str> = members.iter().map(|(u, _)| u.id.as_str()).collect();
    assert_eq!(ids, [bob.id.as_str(), ann.id.as_str()]);
    assert_eq!(members[0].1, until);
    let later = now + Duration::hours(2);
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

    // Users filtered by group, with and without other filters.
    let mut request = list(&ws);
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

    let groups = groups_of(&store, ws.key, bob.key, now).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].0.id, finance.id);
    // A page's users in one read: a key whose user is gone (or never was) has no groups
    // and is no error.
    let page = store
        .groups_of_users(ws.key, &[ann.key, bob.key, i64::MAX], now)
        .await
        .unwrap();
    let keys: Vec<i64> = page.iter().map(|(key, _, _)| *key).collect();
    let ann_groups = groups_of(&store, ws.key, ann.key, now).await.len();
    let mut expected = vec![ann.key; ann_groups];
    expected.push(bob.key);
    expected.sort_unstable();
    assert_eq!(keys, expected, "by user, and none for a key without a user");
    assert!(groups_of(&store, ws.key, bob.key, later).await.is_empty());

    // Changing the expiry replaces it.
    let extended = Membership {
        expires_at: None,
        ..until.clone()
    };
    store
        .put_membership(ws.key, &extended, &ev())
        .await
        .unwrap();
    assert_eq!(groups_of(&store, ws.key, bob.key, later).await.len(), 1);

    // Renaming.
    let mut renamed = finance.clone();
    renamed.name = "Treasury".into();
    renamed.description = Some("Money".into());
    assert!(store.update_group(&renamed, &ev()).await.unwrap());
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
    update_with(&store, &mut bob, &leave).await.unwrap();
    assert!(groups_of(&store, ws.key, bob.key, now).await.is_empty());

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
    assert!(groups_of(&store, ws.key, ann.key, now).await.is_empty());
    let all = store.list_groups(ws.key, None, 10).await.unwrap();
    assert!(all.is_empty());
    assert_eq!(
        store.list_groups(other.key, None, 10).await.unwrap().len(),
        1
    );
}

pub async fn purging_erases_the_user_and_what_names_it(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut ann = user(&ws, 1, "Ann Purge", "ann@example.com");
    ann.external_id = Some("ext-1".into());
    let effects = UserSideEffects {
        invitation: Some(invitation("inv_p", ws.key, "inv_purge", t0())),
        mail: Some(mail("mail_p", ws.key, t0())),
        ..UserSideEffects::default()
    };
    ann.key = store
        .insert_user(&ann, &ev(), &plan(&effects))
        .await
        .unwrap();
    let mut team = group(ws.key, 1, "Team");
    team.key = store.insert_group(&team, &ev()).await.unwrap();
    let membership = Membership {
        group_key: team.key,
        user_key: ann.key,
        added_at: t0(),
        expires_at: None,
    };
    store
        .put_membership(ws.key, &membership, &ev())
        .await
        .unwrap();
    let before = store.audit_head(ws.key).await.unwrap().unwrap().last_seq;

    assert!(store.purge_user(ws.key, ann.key, &ev()).await.unwrap());
    assert_eq!(store.get_user(ws.key, &ann.id).await.unwrap(), None);
    assert!(store
        .find_invitation(&hash("inv_purge"))
        .await
        .unwrap()
        .is_none());
    assert!(store.list_outbox(&outbox(ws.key)).await.unwrap().is_empty());
    assert!(store
        .list_members(ws.key, team.key, t0(), None, 10)
        .await
        .unwrap()
        .is_empty());
    let mut search = list(&ws);
    search.search = Some("Purge".into());
    search.include_deleted = true;
    assert!(
        store.list_users(&search).await.unwrap().is_empty(),
        "gone from the search index"
    );
    assert_eq!(
        store.audit_head(ws.key).await.unwrap().unwrap().last_seq,
        before + 1
    );
    // The external id is free again, and a second purge finds nothing (and writes nothing).
    let mut again = user(&ws, 2, "Ann Again", "ann@example.com");
    again.external_id = Some("ext-1".into());
    insert(&store, again).await;
    assert!(!store.purge_user(ws.key, ann.key, &ev()).await.unwrap());
    assert_eq!(
        store.audit_head(ws.key).await.unwrap().unwrap().last_seq,
        before + 2
    );
}

pub async fn outbox_mail_is_claimed_once_and_retried(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    for n in 1..=3 {
        let mut u = user(&ws, n, "U", &format!("u{n}@example.com"));
        let effects = UserSideEffects {
            mail: Some(mail(
                &format!("mail_{n}"),
                ws.key,
                t0() + Duration::seconds(i64::from(n)),
            )),
            ..UserSideEffects::default()
        };
        u.key = store.insert_user(&u, &ev(), &plan(&effects)).await.unwrap();
    }
    let now = t0() + Duration::seconds(2);
    let lease = now + Duration::minutes(5);
    let claimed = store.claim_due_mail(now, lease, 10).await.unwrap();
    let mut ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["mail_1", "mail_2"], "only due mail");
    assert!(
        store
            .claim_due_mail(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    let mut claimed = claimed;
    claimed.sort_by_key(|m| m.id.clone());
    store
        .record_delivery(claimed[0].key, &Delivery::Sent { at: now })
        .await
        .unwrap();
    let retry_at = now + Duration::seconds(30);
    store
        .record_delivery(
            claimed[1].key,
            &Delivery::Retry {
                error: "451 later".into(),
                next_attempt_at: retry_at,
            },
        )
        .await
        .unwrap();
    let mails = store.list_outbox(&outbox(ws.key)).await.unwrap();
    let by_id = |id: &str| mails.iter().find(|m| m.id == id).unwrap().clone();
    let sent = by_id("mail_1");
    assert_eq!(
        (
            sent.status,
            sent.text.as_deref(),
            sent.attempts,
            sent.sent_at
        ),
        (MailStatus::Sent, None, 1, Some(now))
    );
    let retried = by_id("mail_2");
    assert_eq!(
        (retried.status, retried.attempts, retried.next_attempt_at),
        (MailStatus::Pending, 1, retry_at)
    );
    assert_eq!(retried.last_error.as_deref(), Some("451 later"));

    let claimed = store
        .claim_due_mail(retry_at, retry_at + Duration::minutes(5), 10)
        .await
        .unwrap();
    let mut claimed = claimed;
    claimed.sort_by_key(|m| m.id.clone());
    let ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["mail_2", "mail_3"]);
    store
        .record_delivery(
            claimed[0].key,
            &Delivery::Failed {
                error: "550 no".into(),
            },
        )
        .await
        .unwrap();

    let failed = OutboxQuery {
        status: Some(MailStatus::Failed),
        ..outbox(ws.key)
    };
    let failed = store.list_outbox(&failed).await.unwrap();
    assert_eq!((failed.len(), failed[0].attempts), (1, 2));
    let page = OutboxQuery {
        before_key: Some(mails[0].key),
        limit: 1,
        ..outbox(ws.key)
    };
    let page = store.list_outbox(&page).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].key, mails[1].key, "newest first after the cursor");
}

pub async fn roles_in_use_cannot_be_removed(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let mut ann = user(&ws, 1, "Ann", "ann@example.com");
    ann.role = "editor".into();
    let mut ann = insert(&store, ann).await;
    // A soft-deleted user's role counts too.
    ann.deleted_at = Some(t0());
    update_with(&store, &mut ann, &UserSideEffects::default())
        .await
        .unwrap();
    let roles = vec!["admin".to_owned(), "viewer".to_owned()];
    let refused = store
        .set_workspace_roles(ws.key, &roles, &["editor".to_owned()], &ev())
        .await
        .unwrap();
    assert_eq!(refused.as_deref(), Some("editor"));
    let stored = store.find_workspace(&ws.id).await.unwrap().unwrap();
    assert_eq!(stored.roles, ["admin", "editor", "viewer"]);

    let roles = vec![
        "admin".to_owned(),
        "editor".to_owned(),
        "analyst".to_owned(),
    ];
    let done = store
        .set_workspace_roles(ws.key, &roles, &["viewer".to_owned()], &ev())
        .await
        .unwrap();
    assert_eq!(done, None);
    assert_eq!(
        store.find_workspace(&ws.id).await.unwrap().unwrap().roles,
        roles
    );

    let settings = InvitationSettings {
        expiry_hours: Some(24),
        subject: Some("Join {{workspace}}".into()),
        text: None,
    };
    store
        .set_invitation_settings(ws.key, &settings, &ev())
        .await
        .unwrap();
    assert_eq!(
        store
            .find_workspace(&ws.id)
            .await
            .unwrap()
            .unwrap()
            .invitations,
        settings
    );
}

fn session(ws_key: i64, user_key: i64, n: u8, at: DateTime<Utc>) -> Session {
    Session {
        key: 0,
        id: format!("ses_{ws_key}_{n}"),
        workspace_key: ws_key,
        user_key,
        kind: SessionKind::Session,
        token_hash: [n; 32],
        created_at: at,
        last_seen_at: at,
        expires_at: Some(at + Duration::days(7)),
        ip: Some("203.0.113.7".into()),
        user_agent: None,
        ended_at: None,
    }
}

pub async fn sessions_start_race_and_end(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let ann = insert(&store, user(&ws, 1, "Ann", "ann@example.com")).await;
    let start = |s: Session, expected_live: u64, evict: Vec<i64>| SessionStart {
        session: s,
        expected_live,
        evict,
        rehash: None,
    };
    let t = t0();
    store
        .start_session(&start(session(ws.key, ann.key, 1, t), 0, vec![]), &ev())
        .await
        .unwrap();
    // A sign-in that read a stale count writes nothing.
    let stale = start(session(ws.key, ann.key, 2, t), 0, vec![]);
    assert!(matches!(
        store.start_session(&stale, &ev()).await,
        Err(StoreError::Stale)
    ));
    let live = store.live_sessions(ws.key, ann.key, t).await.unwrap();
    assert_eq!(live.len(), 1);
    // Evicting the oldest to make room.
    let later = t + Duration::seconds(5);
    store
        .start_session(
            &start(session(ws.key, ann.key, 3, later), 1, vec![live[0].key]),
            &ev(),
        )
        .await
        .unwrap();
    let live = store.live_sessions(ws.key, ann.key, later).await.unwrap();
    assert_eq!(
        live.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [format!("ses_{}_3", ws.key)]
    );
    let stored = store.get_user(ws.key, &ann.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.current_sign_in_at, stored.last_sign_in_at),
        (Some(later), Some(t))
    );
    let (found, holder, _) = store.find_session(&[1; 32]).await.unwrap().unwrap();
    assert_eq!((found.ended_at, holder.id), (Some(later), ann.id.clone()));
    // Expired sessions are not live.
    assert!(store
        .live_sessions(ws.key, ann.key, later + Duration::days(8))
        .await
        .unwrap()
        .is_empty());
    store
        .touch_session(
            live[0].key,
            later + Duration::days(6),
            Some(later + Duration::days(13)),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .live_sessions(ws.key, ann.key, later + Duration::days(8))
            .await
            .unwrap()
            .len(),
        1
    );

    // One personal token at a time; revoking it clears the flag.
    let mut personal = session(ws.key, ann.key, 9, later);
    personal.kind = SessionKind::Personal;
    personal.expires_at = None;
    assert!(store.insert_personal_token(&personal, &ev()).await.unwrap());
    let mut again = session(ws.key, ann.key, 10, later);
    again.kind = SessionKind::Personal;
    assert!(!store.insert_personal_token(&again, &ev()).await.unwrap());
    assert!(
        store
            .get_user(ws.key, &ann.id)
            .await
            .unwrap()
            .unwrap()
            .has_authentication_token
    );
    assert_eq!(
        store
            .end_sessions(ws.key, ann.key, &EndSessions::AllSessions, later, &ev())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .live_sessions(ws.key, ann.key, later)
            .await
            .unwrap()
            .len(),
        1,
        "the token stays"
    );
    assert_eq!(
        store
            .end_sessions(ws.key, ann.key, &EndSessions::PersonalToken, later, &ev())
            .await
            .unwrap(),
        1
    );
    assert!(
        !store
            .get_user(ws.key, &ann.id)
            .await
            .unwrap()
            .unwrap()
            .has_authentication_token
    );
    let head = store.audit_head(ws.key).await.unwrap().unwrap().last_seq;
    assert_eq!(
        store
            .end_sessions(
                ws.key,
                ann.key,
                &EndSessions::One("ses_nope".into()),
                later,
                &ev()
            )
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.audit_head(ws.key).await.unwrap().unwrap().last_seq,
        head,
        "no event when nothing ended"
    );
}

/// The primitives the core plans for `effects`.
fn plan(effects: &UserSideEffects) -> Vec<UserWrite> {
    effects.clone().plan()
}

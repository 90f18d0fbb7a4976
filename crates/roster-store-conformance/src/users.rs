//! Writing users: uniqueness, versions, imports, invitations, purge (`UserStore`).

use std::sync::Arc;

use chrono::Duration;
use roster_core::audit::Action;
use roster_core::group::Membership;
use roster_core::outbox::MailStatus;
use roster_core::plan::UserSideEffects;
use roster_core::store::{ImportWrite, StoreError, UniqueKey, UpdateOutcome, UserWrite};
use roster_core::{Store, User, UserStatus};
use serde_json::json;

use crate::fixtures::*;

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

    batches_write_all_or_nothing(&store, &ws, &jane).await;
}

/// A batch with a taken email, or an update whose row moved on, writes nothing; the same
/// batch without them writes all of it with one event.
async fn batches_write_all_or_nothing(
    store: &Arc<dyn Store>,
    ws: &roster_core::Workspace,
    jane: &User,
) {
    let write = |user: User, expected_version: Option<i64>| ImportWrite {
        user,
        expected_version,
        password_hash: Some("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".into()),
        plan: Vec::new(),
    };
    let mut renamed = jane.clone();
    renamed.name = "Janet".into();
    renamed.version = 2;
    let fresh = user(ws, 3, "Fresh", "fresh@example.com");
    // A new user whose email is taken fails the whole batch: the rename is not written.
    let clash = user(ws, 4, "Clash", "jane@example.com");
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

    invitations_are_accepted_once(&store, &ws, ann).await;
}

/// Accepting a revoked invitation writes nothing; the pending one is accepted once; a
/// revocation on its own leaves an accepted invitation accepted.
async fn invitations_are_accepted_once(
    store: &Arc<dyn Store>,
    ws: &roster_core::Workspace,
    mut ann: User,
) {
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
        update_with(store, &mut attempt, &accept_old).await,
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
        update_with(store, &mut ann, &accept).await.unwrap(),
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
        update_with(store, &mut again, &accept).await,
        Err(StoreError::Stale)
    ));

    // Revocation on its own (deactivation, deletion).
    let third = UserSideEffects {
        invitation: Some(invitation("inv_3", ws.key, "inv_third", t0())),
        ..UserSideEffects::default()
    };
    update_with(store, &mut ann, &third).await.unwrap();
    let revoke = UserSideEffects {
        revoke_invitations: true,
        ..UserSideEffects::default()
    };
    update_with(store, &mut ann, &revoke).await.unwrap();
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
    team.key = store.write_group(&team, None, &[], &[ev()]).await.unwrap();
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

pub async fn users_are_found_by_uuid_key_and_external_id(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let mut ann = user(&ws, 1, "Ann", "ann@example.com");
    ann.external_id = Some("ext-ann".into());
    let ann = insert(&store, ann).await;
    let bo = insert(&store, user(&other, 1, "Bo", "bo@example.com")).await;

    let by_uuid = store.find_user_by_uuid(ws.key, ann.uuid).await.unwrap();
    let by_key = store.find_user_by_key(ws.key, ann.key).await.unwrap();
    let by_external = store
        .find_user_by_external_id(ws.key, "ext-ann")
        .await
        .unwrap();
    assert_eq!(by_uuid.as_ref(), Some(&ann));
    assert_eq!(by_key.as_ref(), Some(&ann));
    assert_eq!(by_external.as_ref(), Some(&ann));
    // Another workspace's user is not found by any of them.
    assert_eq!(
        store.find_user_by_uuid(ws.key, bo.uuid).await.unwrap(),
        None
    );
    assert_eq!(store.find_user_by_key(ws.key, bo.key).await.unwrap(), None);
    assert_eq!(
        store
            .find_user_by_uuid(ws.key, uuid::Uuid::nil())
            .await
            .unwrap(),
        None
    );

    // A soft-deleted user is still found (its surfaces decide what to show).
    let mut deleted = ann.clone();
    deleted.deleted_at = Some(t0());
    deleted.version += 1;
    assert_eq!(
        store
            .update_user(&deleted, ann.version, &ev(), &[])
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );
    let found = store
        .find_user_by_key(ws.key, ann.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.deleted_at, Some(t0()));
    let found = store
        .find_user_by_uuid(ws.key, ann.uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.version, deleted.version);
}

pub async fn user_names_are_unique_per_workspace_whatever_their_case(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let mut ann = user(&ws, 1, "Ann", "ann@example.com");
    ann.user_name = "Ann.Smith".into();
    let ann = insert(&store, ann).await;
    let stored = store.get_user(ws.key, &ann.id).await.unwrap().unwrap();
    assert_eq!(stored.user_name, "Ann.Smith");

    let mut clash = user(&ws, 2, "Bob", "bob@example.com");
    clash.user_name = "ann.SMITH".into();
    assert!(matches!(
        store.insert_user(&clash, &ev(), &[]).await,
        Err(StoreError::Unique(UniqueKey::UserName))
    ));
    // Another workspace may use it.
    let mut theirs = user(&other, 3, "Ann", "ann@example.com");
    theirs.user_name = "ann.smith".into();
    insert(&store, theirs).await;

    // A rename onto a taken name fails; the row keeps its own.
    let bob = insert(&store, user(&ws, 2, "Bob", "bob@example.com")).await;
    let mut renamed = bob.clone();
    renamed.user_name = "ANN.smith".into();
    renamed.version += 1;
    assert!(matches!(
        store.update_user(&renamed, bob.version, &ev(), &[]).await,
        Err(StoreError::Unique(UniqueKey::UserName))
    ));
    // A soft-deleted user's name is free again.
    let mut deleted = ann.clone();
    deleted.deleted_at = Some(t0());
    deleted.version += 1;
    store
        .update_user(&deleted, ann.version, &ev(), &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .update_user(&renamed, bob.version, &ev(), &[])
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );
    let stored = store.get_user(ws.key, &bob.id).await.unwrap().unwrap();
    assert_eq!(stored.user_name, "ANN.smith");
}

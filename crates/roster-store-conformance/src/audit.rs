//! The audit chain (`AuditStore`).

use std::sync::Arc;

use chrono::Duration;
use roster_core::audit::{Action, AuditEvent, AuditQuery, NewEvent};
use roster_core::store::UpdateOutcome;
use roster_core::{Store, User};

use crate::fixtures::*;

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
    assert_links_and_verifies(&chain);
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

/// `chain` (a workspace's whole chain, in order) starts with no link, links each event to
/// the one before it, and holds the hash each event's content gives.
fn assert_links_and_verifies(chain: &[AuditEvent]) {
    assert_eq!(chain[0].prev_hash, "");
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "event {}", pair[1].seq);
    }
    for event in chain {
        assert_eq!(
            event.hash,
            event.computed_hash(),
            "event {} verifies",
            event.seq
        );
    }
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

pub async fn events_without_a_change_join_the_chain(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let before = store.audit_head(ws.key).await.unwrap().unwrap();
    let failed = ev_at(
        Action::UserLoginFailed,
        Some("usr_x"),
        t0() + Duration::seconds(5),
    );
    store.append_event(ws.key, &failed).await.unwrap();

    let head = store.audit_head(ws.key).await.unwrap().unwrap();
    assert_eq!(head.last_seq, before.last_seq + 1);
    assert_ne!(head.last_hash, before.last_hash);
    let listed = store.list_audit_events(&audit_query(&ws)).await.unwrap();
    assert_eq!(listed[0].id, failed.id);
    assert_eq!(listed[0].action, "user.login_failed");
    // The other workspace's chain did not move.
    let theirs = store.audit_head(other.key).await.unwrap().unwrap();
    assert_eq!(theirs.last_seq, 1);
}

/// Writers of one workspace side by side, with the store's sealing (if it seals after the
/// commit) running beside them or not at all: every read sees one chain of every event
/// committed before it, each sealed, linked and numbered once, in the order of writes that
/// followed each other.
pub async fn writers_side_by_side_make_one_chain(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let key = ws.key;
    let write = |count: usize| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..count {
                let event = ev();
                store.append_event(key, &event).await.unwrap();
                ids.push(event.id);
            }
            ids
        })
    };
    let gather = |writers: Vec<tokio::task::JoinHandle<Vec<String>>>| async move {
        let mut ids = Vec::new();
        for writer in writers {
            ids.extend(writer.await.unwrap());
        }
        ids
    };
    // More than one sealing transaction holds (a store that seals later takes them in
    // batches), written with no sealing at all.
    let mut written = gather((0..8).map(|_| write(140)).collect()).await;
    let sealed = store.seal_audit_events().await.unwrap();
    // (and the two workspaces' creations, which nothing has read yet)
    assert!(
        sealed == 0 || sealed == 2 + 1_120,
        "all or none sealed later: {sealed}"
    );
    // Then with sealing running beside the writers.
    let sealing = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                store.seal_audit_events().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    written.extend(gather((0..4).map(|_| write(50)).collect()).await);
    sealing.await.unwrap();
    // Then one after another, with nothing sealing them before the read.
    let last: Vec<NewEvent> = (0..5).map(|_| ev()).collect();
    for event in &last {
        store.append_event(ws.key, event).await.unwrap();
        written.push(event.id.clone());
    }

    let head = store.audit_head(ws.key).await.unwrap().unwrap();
    let chain = store.audit_chain(ws.key, 0, 2_000).await.unwrap();
    assert_eq!(head.last_seq, 1 + written.len() as i64);
    assert_eq!(
        chain.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=head.last_seq).collect::<Vec<_>>()
    );
    assert_links_and_verifies(&chain);
    assert_eq!(head.last_hash, chain[chain.len() - 1].hash);
    let mut chained: Vec<&str> = chain[1..].iter().map(|e| e.id.as_str()).collect();
    let tail = chained.split_off(chained.len() - last.len());
    assert_eq!(
        tail,
        last.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        "writes that followed each other are chained in their order"
    );
    chained.extend(tail);
    chained.sort_unstable();
    written.sort_unstable();
    assert_eq!(chained, written, "every event once");
    // The reads sealed what was left; the other workspace's chain is its own.
    assert_eq!(store.seal_audit_events().await.unwrap(), 0);
    assert_eq!(
        store.audit_head(other.key).await.unwrap().unwrap().last_seq,
        1
    );
}

/// A filtered read answers with every event written before it that passes its filters,
/// sealed, whatever else is waiting to be sealed, and a read no event passes answers none.
pub async fn filtered_reads_see_the_events_written_before_them(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let at = t0() + Duration::seconds(5);
    let failed = ev_at(Action::UserLoginFailed, Some("usr_x"), at);
    let other = ev_at(Action::UserLoginFailed, Some("usr_y"), at);
    store.append_event(ws.key, &failed).await.unwrap();
    store.append_event(ws.key, &other).await.unwrap();
    let of = |user: &str| AuditQuery {
        action: Some("user.login_failed".into()),
        user_id: Some(user.into()),
        ..audit_query(&ws)
    };

    assert!(store
        .list_audit_events(&of("usr_z"))
        .await
        .unwrap()
        .is_empty());
    let theirs = store.list_audit_events(&of("usr_x")).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].id, failed.id);
    assert_eq!(theirs[0].hash, theirs[0].computed_hash());
    let mut window = of("usr_y");
    window.start = Some(at);
    window.end = Some(at + Duration::seconds(1));
    assert_eq!(
        event_ids(&store, &window).await,
        [other.id.as_str()],
        "the time filters pass it"
    );
    // Every read since answered in one chain: the workspace's creation, then both.
    let chain = store.audit_chain(ws.key, 0, 100).await.unwrap();
    assert_eq!(
        chain.iter().map(|e| e.id.as_str()).collect::<Vec<_>>()[1..],
        [failed.id.as_str(), other.id.as_str()]
    );
    assert_links_and_verifies(&chain);
}

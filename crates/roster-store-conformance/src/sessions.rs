//! Sign-in, sessions and personal tokens (`SessionStore`).

use std::sync::Arc;

use chrono::Duration;
use roster_core::session::{EndSessions, Session, SessionKind};
use roster_core::store::{SessionStart, StoreError};
use roster_core::Store;

use crate::fixtures::*;

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

    personal_tokens_end_apart_from_sessions(&store, &ws, &ann, later).await;
}

/// One personal token at a time; ending all sessions leaves it; revoking it clears the
/// user's flag; ending nothing writes no event.
async fn personal_tokens_end_apart_from_sessions(
    store: &Arc<dyn Store>,
    ws: &roster_core::Workspace,
    ann: &roster_core::User,
    later: chrono::DateTime<chrono::Utc>,
) {
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

pub async fn sign_in_finds_live_users_by_email_key_or_external_id(store: Arc<dyn Store>) {
    use roster_core::store::{SignInName, UserWrite};
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    let mut ann = user(&ws, 1, "Ann", "Ann@Example.com");
    ann.external_id = Some("ext-ann".into());
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned();
    ann.key = store
        .insert_user(&ann, &ev(), &[UserWrite::SetPasswordHash(hash.clone())])
        .await
        .unwrap();
    let bo = insert(&store, user(&ws, 2, "Bo", "bo@example.com")).await;
    insert(&store, user(&other, 3, "Cy", "cy@example.com")).await;

    let by_email = SignInName::EmailKey("ann@example.com".into());
    let found = store.find_sign_in(ws.key, &by_email).await.unwrap();
    assert_eq!(found, Some((ann.clone(), Some(hash.clone()))));
    let by_external = SignInName::ExternalId("ext-ann".into());
    let found = store.find_sign_in(ws.key, &by_external).await.unwrap();
    assert_eq!(found, Some((ann.clone(), Some(hash))));
    // A user without a password, another workspace's user, a soft-deleted user.
    let found = store
        .find_sign_in(ws.key, &SignInName::EmailKey("bo@example.com".into()))
        .await
        .unwrap();
    assert_eq!(found, Some((bo, None)));
    let found = store
        .find_sign_in(ws.key, &SignInName::EmailKey("cy@example.com".into()))
        .await
        .unwrap();
    assert_eq!(found, None);
    let mut deleted = ann.clone();
    deleted.deleted_at = Some(t0());
    deleted.version += 1;
    store
        .update_user(&deleted, ann.version, &ev(), &[])
        .await
        .unwrap();
    assert_eq!(store.find_sign_in(ws.key, &by_email).await.unwrap(), None);
}

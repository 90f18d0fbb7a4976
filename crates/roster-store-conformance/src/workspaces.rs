//! Workspaces, their settings and roles (`WorkspaceStore`), and the schema.

use std::sync::Arc;

use roster_core::invitation::InvitationSettings;
use roster_core::keys::{self};
use roster_core::plan::UserSideEffects;
use roster_core::store::{StoreError, UniqueKey, UpdateOutcome};
use roster_core::Store;

use crate::fixtures::*;

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

pub async fn audit_retention_and_auth_settings_round_trip(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "other").await;
    store.set_audit_retention(ws.key, 30, &ev()).await.unwrap();
    let settings = roster_core::AuthSettings {
        min_password_length: Some(12),
        check_common_passwords: Some(true),
        session_idle_minutes: Some(15),
        session_lifetime_hours: Some(8),
        session_limit_policy: Some(roster_core::session::LimitPolicy::Refuse),
    };
    store
        .set_auth_settings(ws.key, &settings, &ev())
        .await
        .unwrap();

    let stored = store.find_workspace(&ws.id).await.unwrap().unwrap();
    assert_eq!((stored.audit_retention_days, &stored.auth), (30, &settings));
    let untouched = store.find_workspace(&other.id).await.unwrap().unwrap();
    assert_eq!(
        (untouched.audit_retention_days, untouched.auth),
        (
            other.audit_retention_days,
            roster_core::AuthSettings::default()
        )
    );
    // Each change wrote its event in the workspace's chain.
    let head = store.audit_head(ws.key).await.unwrap().unwrap();
    assert_eq!(
        head.last_seq, 3,
        "the workspace's creation and the two changes"
    );
}

pub async fn console_setup_tokens_are_claimed_once(store: Arc<dyn Store>) {
    use roster_core::console::SetupToken;
    use roster_core::store::UserWrite;
    let ws = add_workspace(&store, "acme").await;
    let other = add_workspace(&store, "globex").await;
    let token = |name: &str, ws_key: i64, hours: i64| SetupToken {
        workspace_key: ws_key,
        token_hash: hash(name),
        created_at: t0() - chrono::Duration::hours(1),
        expires_at: t0() + chrono::Duration::hours(hours),
        used_at: None,
    };
    let live = token("cst_live", ws.key, 1);
    let expired = token("cst_expired", ws.key, -1);
    let elsewhere = token("cst_elsewhere", other.key, 1);
    for t in [&live, &expired, &elsewhere] {
        store.insert_setup_token(t, &ev()).await.unwrap();
    }
    let (found, ws_id) = store
        .find_setup_token(&hash("cst_live"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, ws_id.as_str()), (live.clone(), ws.id.as_str()));
    assert!(store
        .find_setup_token(&hash("cst_unknown"))
        .await
        .unwrap()
        .is_none());

    // An expired token, another workspace's or an unknown one writes nothing, the user
    // included.
    for (n, name) in [(1, "cst_expired"), (2, "cst_elsewhere"), (3, "cst_unknown")] {
        let user = user(&ws, n, "Ann", &format!("ann{n}@example.com"));
        let claim = [UserWrite::ClaimSetupToken(hash(name))];
        assert!(
            matches!(
                store.insert_user(&user, &ev(), &claim).await,
                Err(StoreError::Stale)
            ),
            "{name}"
        );
        assert!(store.get_user(ws.key, &user.id).await.unwrap().is_none());
    }

    // The live one is claimed once, at the write's time.
    let first = user(&ws, 4, "Ann", "ann@example.com");
    let claim = [UserWrite::ClaimSetupToken(hash("cst_live"))];
    store.insert_user(&first, &ev(), &claim).await.unwrap();
    let (used, _) = store
        .find_setup_token(&hash("cst_live"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.used_at, Some(first.created_at));
    let second = user(&ws, 5, "Bob", "bob@example.com");
    assert!(matches!(
        store.insert_user(&second, &ev(), &claim).await,
        Err(StoreError::Stale)
    ));
    assert!(store.get_user(ws.key, &second.id).await.unwrap().is_none());
}

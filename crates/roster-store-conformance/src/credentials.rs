//! Secret keys, API clients and signing keys (`CredentialStore`).

use std::sync::Arc;

use chrono::Duration;
use roster_core::keys::{self};
use roster_core::signing::SigningKey;
use roster_core::{Scope, Store};

use crate::fixtures::*;

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

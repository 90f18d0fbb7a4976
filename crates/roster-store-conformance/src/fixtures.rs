//! What the cases share: fixed times, workspaces, users, events and their builders.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use roster_core::audit::{Action, AuditQuery, NewEvent};
use roster_core::group::{Group, Membership};
use roster_core::invitation::Invitation;
use roster_core::keys::{self, ApiKey};
use roster_core::outbox::{Mail, MailStatus, OutboxQuery};
use roster_core::plan::UserSideEffects;
use roster_core::session::{Session, SessionKind};
use roster_core::signing::SigningKey;
use roster_core::store::{StoreError, UpdateOutcome, UserWrite};
use roster_core::{ApiClient, Scope, Store, User, UserListRequest, UserStatus, Workspace};
use sha2::{Digest, Sha256};

/// A fresh event (each needs its own id).
pub(crate) fn ev() -> NewEvent {
    ev_at(Action::UserUpdate, None, t0())
}

pub(crate) fn ev_at(action: Action, target: Option<&str>, at: DateTime<Utc>) -> NewEvent {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NewEvent {
        id: format!("evt_{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        occurred_at: at,
        action,
        actor_kind: "api_key",
        actor_id: Some("key_test".into()),
        target_user_id: target.map(str::to_owned),
        request_id: Some("req_test".into()),
        ip: None,
        user_agent: None,
        changes: r#"{"name":{"after":"x","before":null}}"#.into(),
    }
}

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + Duration::microseconds(123_456)
}

pub(crate) fn workspace(name: &str) -> Workspace {
    Workspace {
        key: 0,
        id: format!("ws_{name}"),
        name: name.to_owned(),
        roles: vec!["admin".into(), "editor".into(), "viewer".into()],
        created_at: t0(),
        is_operator: false,
        rate_limit_per_minute: None,
        audit_retention_days: 90,
        invitations: Default::default(),
        auth: Default::default(),
    }
}

pub(crate) async fn add_workspace(store: &Arc<dyn Store>, name: &str) -> Workspace {
    let mut ws = workspace(name);
    ws.key = store.insert_workspace(&ws, &ev()).await.unwrap();
    ws
}

pub(crate) fn key(workspace_key: i64, secret: &str) -> ApiKey {
    ApiKey {
        id: format!("key_{}", &secret[secret.len() - 6..]),
        workspace_key,
        name: "test".into(),
        prefix: secret[..12].to_owned(),
        secret_hash: keys::hash_secret(secret),
        scopes: vec![Scope::Admin],
        created_at: t0(),
        expires_at: None,
        rate_limit_per_minute: None,
        last_used_at: None,
    }
}

pub(crate) fn user(ws: &Workspace, n: u32, name: &str, email: &str) -> User {
    User {
        key: 0,
        id: format!("usr_{}_{n}", ws.name),
        uuid: uuid::Uuid::from_u128(u128::from(n) + (u128::try_from(ws.key).unwrap() << 64)),
        workspace_key: ws.key,
        external_id: None,
        user_name: email.to_owned(),
        email: email.to_owned(),
        name: name.to_owned(),
        given_name: None,
        family_name: None,
        role: "viewer".into(),
        status: UserStatus::Active,
        attributes: Default::default(),
        created_at: t0() + Duration::seconds(i64::from(n)),
        updated_at: t0() + Duration::seconds(i64::from(n)),
        deleted_at: None,
        version: 1,
        sessions_limit: None,
        allow_authentication_token: false,
        has_authentication_token: false,
        current_sign_in_at: None,
        last_sign_in_at: None,
    }
}

pub(crate) async fn insert(store: &Arc<dyn Store>, mut user: User) -> User {
    user.key = store.insert_user(&user, &ev(), &[]).await.unwrap();
    user
}

pub(crate) fn list(ws: &Workspace) -> UserListRequest {
    UserListRequest {
        offset: 0,
        workspace_key: ws.key,
        role: None,
        status: None,
        search: None,
        email_key: None,
        include_deleted: false,
        group_key: None,
        as_of: Utc::now(),
        before_key: None,
        limit: 100,
    }
}

pub(crate) async fn names(store: &Arc<dyn Store>, request: &UserListRequest) -> Vec<String> {
    store
        .list_users(request)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect()
}

pub(crate) fn client(ws: &Workspace, n: u8) -> ApiClient {
    ApiClient {
        client_id: format!("{n:02x}").repeat(20),
        workspace_key: ws.key,
        name: format!("client {n}"),
        secret_hash: [n; 32],
        scopes: vec![Scope::UsersRead, Scope::UsersWrite],
        admin_api_enabled: false,
        rate_limit_per_minute: None,
        created_at: t0() + Duration::seconds(i64::from(n)),
    }
}

pub(crate) fn signing_key(kid: &str, at: DateTime<Utc>) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        private_pem: format!("-----BEGIN PRIVATE KEY-----\n{kid}\n-----END PRIVATE KEY-----\n"),
        modulus: format!("n-{kid}"),
        exponent: "AQAB".into(),
        created_at: at,
        retires_at: None,
    }
}

pub(crate) fn audit_query(ws: &Workspace) -> AuditQuery {
    AuditQuery {
        workspace_key: ws.key,
        action: None,
        user_id: None,
        actor_id: None,
        start: None,
        end: None,
        before: None,
        limit: 100,
    }
}

pub(crate) async fn event_ids(store: &Arc<dyn Store>, query: &AuditQuery) -> Vec<String> {
    store
        .list_audit_events(query)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

pub(crate) fn invitation(id: &str, ws_key: i64, token: &str, at: DateTime<Utc>) -> Invitation {
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

pub(crate) fn mail(id: &str, ws_key: i64, at: DateTime<Utc>) -> Mail {
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

pub(crate) fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub(crate) fn outbox(ws_key: i64) -> OutboxQuery {
    OutboxQuery {
        workspace_key: ws_key,
        status: None,
        before_key: None,
        limit: 100,
    }
}

/// One user's current groups, through the page-wide read.
pub(crate) async fn groups_of(
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
pub(crate) async fn update_with(
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

pub(crate) fn group(ws_key: i64, n: u32, name: &str) -> Group {
    Group {
        key: 0,
        id: format!("grp_{ws_key}_{n}"),
        workspace_key: ws_key,
        name: name.to_owned(),
        description: None,
        external_id: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

pub(crate) fn session(ws_key: i64, user_key: i64, n: u8, at: DateTime<Utc>) -> Session {
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

/// The primitives the core plans for `effects`.
pub(crate) fn plan(effects: &UserSideEffects) -> Vec<UserWrite> {
    effects.clone().plan()
}

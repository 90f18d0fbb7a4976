//! The audit log: one event for every change, written by the store in the same transaction
//! as the change, and chained per workspace so that editing or deleting a row afterwards is
//! detected.
//!
//! Each event's `hash` is SHA-256 over the previous event's hash, its sequence number and its
//! content (length-prefixed fields, so no two events encode alike). Retention purges the
//! oldest events and records the last purged event's hash as the chain's checkpoint, so what
//! remains still verifies.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::clients::ApiClient;
use crate::error::{Code, Error, Result};
use crate::ids;
use crate::keys::ApiKey;
use crate::user::User;
use crate::workspace::Workspace;
use crate::Random;

macro_rules! actions {
    ($($variant:ident => $text:literal,)*) => {
        /// What an event records (seed 002's dotted names).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $text),* }
            }
        }
    };
}

actions! {
    UserCreate => "user.create",
    UserUpdate => "user.update",
    UserRoleChange => "user.role_change",
    UserActivate => "user.activate",
    UserDeactivate => "user.deactivate",
    UserReactivate => "user.reactivate",
    UserDelete => "user.delete",
    UserRestore => "user.restore",
    UserPurge => "user.purge",
    UserInvite => "user.invite",
    UserImport => "user.import",
    UserLogin => "user.login",
    UserLoginFailed => "user.login_failed",
    UserLogout => "user.logout",
    UserSessionEnd => "user.session_end",
    UserForceLogout => "user.force_logout",
    UserPasswordSet => "user.password_set",
    UserTokenCreate => "user.token_create",
    UserTokenRevoke => "user.token_revoke",
    ApiKeyCreate => "api_key.create",
    ApiKeyRevoke => "api_key.revoke",
    ApiClientCreate => "api_client.create",
    ApiClientUpdate => "api_client.update",
    ApiClientRevoke => "api_client.revoke",
    WorkspaceCreate => "workspace.create",
    ConfigUpdate => "config.update",
    GroupCreate => "group.create",
    GroupUpdate => "group.update",
    GroupDelete => "group.delete",
    GroupMemberAdd => "group.member_add",
    GroupMemberRemove => "group.member_remove",
    ConsoleSetupLink => "console.setup_link",
}

impl Action {
    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == text.trim())
            .ok_or_else(|| {
                Error::field(
                    Code::UnknownAction,
                    "action",
                    format!(
                        "Unknown action '{}'.",
                        text.chars().take(40).collect::<String>()
                    ),
                )
            })
    }
}

/// Who asks for a change. The audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A request authenticated with a secret key.
    ApiKey { key_id: String },
    /// A request authenticated with a client token.
    ApiClient { client_id: String },
    /// An operator at the CLI, with direct access to the database.
    Operator,
    /// Roster itself (bootstrap, background work).
    System,
    /// A user acting for itself (accepting its invitation, signing in).
    User { user_id: String },
}

/// Who made a change and through what request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl AuditContext {
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            request_id: None,
            ip: None,
            user_agent: None,
        }
    }

    /// An operator at the CLI.
    pub fn operator() -> Self {
        Self::new(Actor::Operator)
    }

    pub fn system() -> Self {
        Self::new(Actor::System)
    }
}

/// An event before the store seals it into its workspace's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub action: Action,
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub target_user_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `{"field": {"before": …, "after": …}}` as canonical JSON text (sorted keys).
    pub changes: String,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub workspace_key: i64,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub target_user_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub changes: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The end of a workspace's chain, and where it begins after retention.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditHead {
    pub last_seq: i64,
    pub last_hash: String,
    pub checkpoint_seq: i64,
    pub checkpoint_hash: String,
    /// The last event retention purged, kept whole as JSON: its hash proves the checkpoint
    /// names a real event, and its time shows that retention could have purged it. `None`
    /// before any purge; [`LEGACY_CHECKPOINT`] for a checkpoint made before Roster kept it.
    pub checkpoint_event: Option<String>,
}

impl NewEvent {
    pub(crate) fn new(
        ctx: &AuditContext,
        action: Action,
        target_user_id: Option<String>,
        changes: Value,
        now: DateTime<Utc>,
        random: &dyn Random,
    ) -> Self {
        let (actor_kind, actor_id) = match &ctx.actor {
            Actor::ApiKey { key_id } => ("api_key", Some(key_id.clone())),
            Actor::ApiClient { client_id } => ("api_client", Some(client_id.clone())),
            Actor::Operator => ("operator", None),
            Actor::System => ("system", None),
            Actor::User { user_id } => ("user", Some(user_id.clone())),
        };
        Self {
            id: ids::new_id("evt", random),
            occurred_at: now,
            action,
            actor_kind,
            actor_id,
            target_user_id,
            request_id: ctx.request_id.clone(),
            ip: ctx.ip.clone(),
            user_agent: ctx.user_agent.clone(),
            changes: canonical(&changes),
        }
    }

    /// Seal the event as number `seq` of `workspace_key`'s chain, after `prev_hash`.
    pub fn seal(&self, workspace_key: i64, seq: i64, prev_hash: &str) -> AuditEvent {
        let mut event = AuditEvent {
            id: self.id.clone(),
            workspace_key,
            seq,
            occurred_at: self.occurred_at,
            action: self.action.as_str().to_owned(),
            actor_kind: self.actor_kind.to_owned(),
            actor_id: self.actor_id.clone(),
            target_user_id: self.target_user_id.clone(),
            request_id: self.request_id.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            changes: self.changes.clone(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        event.hash = event.computed_hash();
        event
    }
}

impl AuditEvent {
    /// The hash this event's content and link call for.
    pub fn computed_hash(&self) -> String {
        let mut hash = Sha256::new();
        let mut field = |value: Option<&[u8]>| match value {
            Some(bytes) => {
                hash.update((bytes.len() as u64).to_be_bytes());
                hash.update(bytes);
            }
            None => hash.update(u64::MAX.to_be_bytes()),
        };
        field(Some(b"roster.audit.v1"));
        field(Some(self.prev_hash.as_bytes()));
        field(Some(&self.seq.to_be_bytes()));
        field(Some(&self.workspace_key.to_be_bytes()));
        field(Some(self.id.as_bytes()));
        field(Some(&self.occurred_at.timestamp_micros().to_be_bytes()));
        field(Some(self.action.as_bytes()));
        field(Some(self.actor_kind.as_bytes()));
        for optional in [
            &self.actor_id,
            &self.target_user_id,
            &self.request_id,
            &self.ip,
            &self.user_agent,
        ] {
            field(optional.as_deref().map(str::as_bytes));
        }
        field(Some(self.changes.as_bytes()));
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// JSON text with object keys sorted at every level, so equal values hash alike.
pub fn canonical(value: &Value) -> String {
    // serde_json's map is sorted unless a dependency enables `preserve_order`; sorting here
    // is right either way.
    let mut text = String::new();
    write_sorted(value, &mut text);
    text
}

fn write_sorted(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_sorted(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The fields of a user an event records.
fn user_fields(user: &User) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("name".into(), json!(user.name));
    map.insert("email".into(), json!(user.email));
    map.insert("role".into(), json!(user.role));
    map.insert("status".into(), json!(user.status.as_str()));
    map.insert("external_id".into(), json!(user.external_id));
    map.insert("user_name".into(), json!(user.user_name));
    map.insert("given_name".into(), json!(user.given_name));
    map.insert("family_name".into(), json!(user.family_name));
    map.insert("attributes".into(), Value::Object(user.attributes.clone()));
    map.insert("deleted_at".into(), json!(user.deleted_at));
    map.insert("sessions_limit".into(), json!(user.sessions_limit));
    map.insert(
        "allow_authentication_token".into(),
        json!(user.allow_authentication_token),
    );
    map
}

/// `{"field": {"before", "after"}}` for each field that differs (all set fields on create).
pub fn user_changes(before: Option<&User>, after: &User) -> Value {
    let after = user_fields(after);
    let before = before.map(user_fields).unwrap_or_default();
    diff(&before, &after)
}

/// The changed entries between two flat field maps.
pub fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Value {
    let mut changes = Map::new();
    for (field, new) in after {
        let old = before.get(field).cloned().unwrap_or(Value::Null);
        if &old != new {
            changes.insert(field.clone(), json!({ "before": old, "after": new }));
        }
    }
    Value::Object(changes)
}

/// The action a user update is recorded as: a status change names itself, a change of the
/// role alone is a role change, anything else an update.
pub fn user_update_action(before: &User, after: &User) -> Action {
    use crate::user::UserStatus::{Active, Inactive, Invited};
    match (before.status, after.status) {
        (Invited, Active) => Action::UserActivate,
        (Active | Invited, Inactive) => Action::UserDeactivate,
        (Inactive, Active) => Action::UserReactivate,
        _ => {
            let only_role = before.role != after.role && {
                let mut same = after.clone();
                same.role = before.role.clone();
                user_fields(&same) == user_fields(before)
            };
            if only_role {
                Action::UserRoleChange
            } else {
                Action::UserUpdate
            }
        }
    }
}

/// What a workspace's creation records.
pub(crate) fn workspace_changes(workspace: &Workspace) -> Value {
    let after = json!({
        "id": workspace.id,
        "name": workspace.name,
        "roles": workspace.roles,
        "is_operator": workspace.is_operator,
        "rate_limit_per_minute": workspace.rate_limit_per_minute,
        "audit_retention_days": workspace.audit_retention_days,
    });
    created(after)
}

/// What a key's creation records: never its secret or hash.
pub(crate) fn access_key_changes(key: &ApiKey) -> Value {
    created(json!({
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": key.scopes,
        "expires_at": key.expires_at,
        "rate_limit_per_minute": key.rate_limit_per_minute,
    }))
}

/// `{"field": {"before": null, "after": value}}` for each non-null field of `after`.
pub(crate) fn created(after: Value) -> Value {
    match after {
        Value::Object(map) => diff(&Map::new(), &map),
        other => other,
    }
}

/// What a client's record shows in events: never its secret or hash.
pub(crate) fn client_fields(client: &ApiClient) -> Value {
    json!({
        "client_id": client.client_id,
        "name": client.name,
        "scopes": client.scopes,
        "admin_api_enabled": client.admin_api_enabled,
        "rate_limit_per_minute": client.rate_limit_per_minute,
    })
}

pub(crate) fn fields_of(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// What a revocation records.
pub(crate) fn revocation(id: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": {"before": id, "after": id},
        "revoked_at": {"before": null, "after": at},
    })
}

/// Filters for reading the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub workspace_key: i64,
    pub action: Option<String>,
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Only events before this (time, seq): the previous page's last.
    pub before: Option<(DateTime<Utc>, i64)>,
    pub limit: u32,
}

/// What verifying a chain found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub checked: u64,
    /// The first event that does not fit the chain, and why.
    pub broken: Option<(String, String)>,
    /// What could not be checked, though nothing was found wrong.
    pub warnings: Vec<String>,
}

/// What the migration that began keeping purged events wrote for checkpoints made before.
pub const LEGACY_CHECKPOINT: &str = "legacy";

/// What a `config.update` event says the audit retention was before it changed, if it
/// changed it.
pub fn retention_before(event: &AuditEvent) -> Option<u32> {
    if event.action != Action::ConfigUpdate.as_str() {
        return None;
    }
    let changes: Value = serde_json::from_str(&event.changes).ok()?;
    let before = changes
        .get("audit_retention_days")?
        .get("before")?
        .as_u64()?;
    u32::try_from(before).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    fn event(ctx: &AuditContext) -> NewEvent {
        NewEvent::new(
            ctx,
            Action::UserCreate,
            Some("usr_1".into()),
            json!({"b": 1, "a": {"z": 1, "y": [2, {"d": 1, "c": 2}]}}),
            Utc::now(),
            &SeededRandom::new(1),
        )
    }

    #[test]
    fn the_readme_lists_every_action() {
        let readme = include_str!("../../../README.md");
        let listed = readme
            .split("<!-- actions -->")
            .nth(1)
            .and_then(|rest| rest.split("<!-- /actions -->").next())
            .unwrap_or_default();
        let listed: Vec<&str> = listed.split(", ").map(|a| a.trim_matches('`')).collect();
        let actual: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(listed, actual, "README's audit action list is out of step");
    }

    #[test]
    fn canonical_json_sorts_keys_everywhere() {
        let value = json!({"b": 1, "a": {"z": 1, "y": [2, {"d": 1, "c": 2}]}});
        assert_eq!(
            canonical(&value),
            r#"{"a":{"y":[2,{"c":2,"d":1}],"z":1},"b":1}"#
        );
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let ctx = AuditContext::new(Actor::ApiKey {
            key_id: "key_1".into(),
        });
        let sealed = event(&ctx).seal(7, 3, "abc");
        assert_eq!(sealed.hash, sealed.computed_hash());
        type Tamper = Box<dyn Fn(&mut AuditEvent)>;
        let tamperings: Vec<Tamper> = vec![
            Box::new(|e| e.prev_hash.push('0')),
            Box::new(|e| e.seq += 1),
            Box::new(|e| e.workspace_key += 1),
            Box::new(|e| e.action = "user.delete".into()),
            Box::new(|e| e.actor_id = None),
            Box::new(|e| e.target_user_id = Some("usr_2".into())),
            Box::new(|e| e.changes.push(' ')),
            Box::new(|e| e.occurred_at += chrono::Duration::microseconds(1)),
            Box::new(|e| e.ip = Some("10.0.0.1".into())),
        ];
        for tamper in tamperings {
            let mut edited = sealed.clone();
            tamper(&mut edited);
            assert_ne!(edited.computed_hash(), sealed.hash);
        }
    }

    #[test]
    fn actions_parse_and_refuse_unknowns() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()).unwrap(), *action);
        }
        assert_eq!(
            Action::parse("user.explode").unwrap_err().code,
            Code::UnknownAction
        );
    }
}

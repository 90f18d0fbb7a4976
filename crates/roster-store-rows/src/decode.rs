//! Rows to domain values, one function per record, over any backend's [`Columns`].

use roster_core::audit::{AuditEvent, AuditHead};
use roster_core::console::SetupToken;
use roster_core::group::{Group, Membership};
use roster_core::invitation::Invitation;
use roster_core::keys::ApiKey;
use roster_core::outbox::{Mail, MailStatus};
use roster_core::session::{Session, SessionKind};
use roster_core::signing::SigningKey;
use roster_core::store::StoreError;
use roster_core::{ApiClient, User, UserStatus, Workspace};

use crate::columns::{Col, Columns};

const fn c(name: &'static str) -> Col {
    Col::named(name)
}

fn unknown(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("stored {what} is unknown: {value}"))
}

pub fn workspace(row: &impl Columns) -> Result<Workspace, StoreError> {
    Ok(Workspace {
        key: row.int(c("pk"))?,
        id: row.text(c("id"))?,
        name: row.text(c("name"))?,
        roles: row.json(c("roles"))?,
        created_at: row.time(c("created_at"))?,
        is_operator: row.flag(c("is_operator"))?,
        rate_limit_per_minute: row.opt_u32(c("rate_limit_per_minute"))?,
        audit_retention_days: row.u32(c("audit_retention_days"))?,
        invitations: row.json(c("invitation_settings"))?,
        auth: row.json(c("auth_settings"))?,
    })
}

/// An api_keys row read with [`crate::key_columns`].
pub fn api_key(row: &impl Columns) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.text(c("key_id"))?,
        workspace_key: row.int(c("workspace_pk"))?,
        name: row.text(c("key_name"))?,
        prefix: row.text(c("prefix"))?,
        secret_hash: row.hash(c("secret_hash"))?,
        scopes: row.json(c("scopes"))?,
        created_at: row.time(c("key_created_at"))?,
        expires_at: row.opt_time(c("expires_at"))?,
        rate_limit_per_minute: row.opt_u32(c("key_rate_limit"))?,
        last_used_at: row.opt_time(c("last_used_at"))?,
    })
}

/// An api_clients row read with [`crate::client_columns`].
pub fn api_client(row: &impl Columns) -> Result<ApiClient, StoreError> {
    Ok(ApiClient {
        client_id: row.text(c("client_id"))?,
        workspace_key: row.int(c("workspace_pk"))?,
        name: row.text(c("client_name"))?,
        secret_hash: row.hash(c("secret_hash"))?,
        scopes: row.json(c("scopes"))?,
        admin_api_enabled: row.flag(c("admin_api_enabled"))?,
        rate_limit_per_minute: row.opt_u32(c("client_rate_limit"))?,
        created_at: row.time(c("client_created_at"))?,
    })
}

pub fn signing_key(row: &impl Columns) -> Result<SigningKey, StoreError> {
    Ok(SigningKey {
        kid: row.text(c("kid"))?,
        private_pem: row.text(c("private_pem"))?,
        modulus: row.text(c("modulus"))?,
        exponent: row.text(c("exponent"))?,
        created_at: row.time(c("created_at"))?,
        retires_at: row.opt_time(c("retires_at"))?,
    })
}

/// A `users` row read with `SELECT *` (or `u.*` first): the columns in table order.
pub fn user(row: &impl Columns) -> Result<User, StoreError> {
    let status = row.text(Col::at("status", 11))?;
    Ok(User {
        key: row.int(Col::at("pk", 0))?,
        id: row.text(Col::at("id", 1))?,
        uuid: row.uuid(Col::at("uuid", 2))?,
        workspace_key: row.int(Col::at("workspace_pk", 3))?,
        external_id: row.opt_text(Col::at("external_id", 4))?,
        user_name: row.text(Col::at("user_name", 23))?,
        email: row.text(Col::at("email", 5))?,
        name: row.text(Col::at("name", 7))?,
        given_name: row.opt_text(Col::at("given_name", 8))?,
        family_name: row.opt_text(Col::at("family_name", 9))?,
        role: row.text(Col::at("role", 10))?,
        status: UserStatus::parse(&status).map_err(|_| unknown("status", &status))?,
        attributes: row.json(Col::at("attributes", 12))?,
        created_at: row.time(Col::at("created_at", 13))?,
        updated_at: row.time(Col::at("updated_at", 14))?,
        deleted_at: row.opt_time(Col::at("deleted_at", 15))?,
        version: row.int(Col::at("version", 16))?,
        sessions_limit: row.opt_u32(Col::at("sessions_limit", 18))?,
        allow_authentication_token: row.flag(Col::at("allow_authentication_token", 19))?,
        has_authentication_token: row.flag(Col::at("has_authentication_token", 20))?,
        current_sign_in_at: row.opt_time(Col::at("current_sign_in_at", 21))?,
        last_sign_in_at: row.opt_time(Col::at("last_sign_in_at", 22))?,
    })
}

pub fn group(row: &impl Columns) -> Result<Group, StoreError> {
    Ok(Group {
        key: row.int(c("pk"))?,
        id: row.text(c("id"))?,
        workspace_key: row.int(c("workspace_pk"))?,
        name: row.text(c("name"))?,
        description: row.opt_text(c("description"))?,
        external_id: row.opt_text(c("external_id"))?,
        created_at: row.time(c("created_at"))?,
        updated_at: row.time(c("updated_at"))?,
    })
}

/// A membership read with [`crate::MEMBERSHIP_COLUMNS`].
pub fn membership(row: &impl Columns) -> Result<Membership, StoreError> {
    Ok(Membership {
        group_key: row.int(c("m_group_pk"))?,
        user_key: row.int(c("m_user_pk"))?,
        added_at: row.time(c("m_added_at"))?,
        expires_at: row.opt_time(c("m_expires_at"))?,
    })
}

/// An invitation read with [`crate::invitation_columns`].
pub fn invitation(row: &impl Columns) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: row.text(c("i_id"))?,
        workspace_key: row.int(c("i_workspace_pk"))?,
        user_key: row.int(c("i_user_pk"))?,
        token_hash: row.hash(c("i_token_hash"))?,
        created_at: row.time(c("i_created_at"))?,
        expires_at: row.time(c("i_expires_at"))?,
        accepted_at: row.opt_time(c("i_accepted_at"))?,
        revoked_at: row.opt_time(c("i_revoked_at"))?,
    })
}

pub fn setup_token(row: &impl Columns) -> Result<SetupToken, StoreError> {
    Ok(SetupToken {
        workspace_key: row.int(c("t_workspace_pk"))?,
        token_hash: row.hash(c("t_token_hash"))?,
        created_at: row.time(c("t_created_at"))?,
        expires_at: row.time(c("t_expires_at"))?,
        used_at: row.opt_time(c("t_used_at"))?,
    })
}

pub fn mail(row: &impl Columns) -> Result<Mail, StoreError> {
    let status = row.text(c("status"))?;
    Ok(Mail {
        key: row.int(c("pk"))?,
        id: row.text(c("id"))?,
        workspace_key: row.int(c("workspace_pk"))?,
        user_key: row.opt_int(c("user_pk"))?,
        kind: row.text(c("kind"))?,
        recipient: row.text(c("recipient"))?,
        subject: row.text(c("subject"))?,
        text: row.opt_text(c("text"))?,
        status: MailStatus::parse(&status).map_err(|_| unknown("mail status", &status))?,
        attempts: row.u32(c("attempts"))?,
        next_attempt_at: row.time(c("next_attempt_at"))?,
        last_error: row.opt_text(c("last_error"))?,
        created_at: row.time(c("created_at"))?,
        sent_at: row.opt_time(c("sent_at"))?,
    })
}

/// A session read with [`crate::SESSION_COLUMNS`].
pub fn session(row: &impl Columns) -> Result<Session, StoreError> {
    let kind = row.text(c("s_kind"))?;
    Ok(Session {
        key: row.int(c("s_pk"))?,
        id: row.text(c("s_id"))?,
        workspace_key: row.int(c("s_workspace_pk"))?,
        user_key: row.int(c("s_user_pk"))?,
        kind: SessionKind::parse(&kind).ok_or_else(|| unknown("session kind", &kind))?,
        token_hash: row.hash(c("s_token_hash"))?,
        created_at: row.time(c("s_created_at"))?,
        last_seen_at: row.time(c("s_last_seen_at"))?,
        expires_at: row.opt_time(c("s_expires_at"))?,
        ip: row.opt_text(c("s_ip"))?,
        user_agent: row.opt_text(c("s_user_agent"))?,
        ended_at: row.opt_time(c("s_ended_at"))?,
    })
}

pub fn event(row: &impl Columns) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: row.text(c("id"))?,
        workspace_key: row.int(c("workspace_pk"))?,
        seq: row.int(c("seq"))?,
        occurred_at: row.time(c("occurred_at"))?,
        action: row.text(c("action"))?,
        actor_kind: row.text(c("actor_kind"))?,
        actor_id: row.opt_text(c("actor_id"))?,
        target_user_id: row.opt_text(c("target_user_id"))?,
        request_id: row.opt_text(c("request_id"))?,
        ip: row.opt_text(c("ip"))?,
        user_agent: row.opt_text(c("user_agent"))?,
        changes: row.text(c("changes"))?,
        prev_hash: row.text(c("prev_hash"))?,
        hash: row.text(c("hash"))?,
    })
}

pub fn head(row: &impl Columns) -> Result<AuditHead, StoreError> {
    Ok(AuditHead {
        last_seq: row.int(c("last_seq"))?,
        last_hash: row.text(c("last_hash"))?,
        checkpoint_seq: row.int(c("checkpoint_seq"))?,
        checkpoint_hash: row.text(c("checkpoint_hash"))?,
        checkpoint_event: row.opt_text(c("checkpoint_event"))?,
    })
}

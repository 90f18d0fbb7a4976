//! What Roster's two SQL stores share: the column lists their queries select, and the
//! decoding of a row into a domain value. Each backend reads its own row type through
//! [`Columns`] (SQLite keeps times as microseconds and JSON as text, PostgreSQL has
//! `timestamptz` and `jsonb`); everything above a single value is written here once.

mod columns;
mod decode;
pub mod query;
pub mod search;

pub use columns::{Col, Columns};
pub use decode::{
    api_client, api_key, event, group, head, invitation, mail, membership, session, setup_token,
    signing_key, user, workspace,
};

/// The console_setup_tokens columns [`setup_token`] reads, with the workspace's public id as
/// `w_id`; the statement's one parameter is the token hash (`$1` or `?1`).
#[macro_export]
macro_rules! find_setup_token {
    ($param:literal) => {
        concat!(
            "SELECT t.workspace_pk AS t_workspace_pk, t.token_hash AS t_token_hash,
                    t.created_at AS t_created_at, t.expires_at AS t_expires_at,
                    t.used_at AS t_used_at, w.id AS w_id
               FROM console_setup_tokens t JOIN workspaces w ON w.pk = t.workspace_pk
              WHERE t.token_hash = ",
            $param
        )
    };
}

/// The api_keys columns [`api_key`] reads, under names that do not clash with a joined
/// workspace's.
#[macro_export]
macro_rules! key_columns {
    () => {
        "k.id AS key_id, k.workspace_pk, k.name AS key_name, k.prefix, k.secret_hash, k.scopes,
         k.created_at AS key_created_at, k.expires_at, k.rate_limit_per_minute AS key_rate_limit,
         k.last_used_at"
    };
}

/// The api_clients columns [`api_client`] reads.
#[macro_export]
macro_rules! client_columns {
    () => {
        "c.client_id, c.workspace_pk, c.name AS client_name, c.secret_hash, c.scopes,
         c.admin_api_enabled, c.rate_limit_per_minute AS client_rate_limit,
         c.created_at AS client_created_at"
    };
}

/// The `m_…` columns of a joined membership, which [`membership`] reads.
pub const MEMBERSHIP_COLUMNS: &str = "m.group_pk AS m_group_pk, m.user_pk AS m_user_pk,
    m.added_at AS m_added_at, m.expires_at AS m_expires_at";

/// The `s_…` columns of a joined session, which [`session`] reads.
pub const SESSION_COLUMNS: &str = "s.pk AS s_pk, s.id AS s_id, s.workspace_pk AS s_workspace_pk,
    s.user_pk AS s_user_pk, s.kind AS s_kind, s.token_hash AS s_token_hash,
    s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at,
    s.ip AS s_ip, s.user_agent AS s_user_agent, s.ended_at AS s_ended_at";

/// The columns an invitation is found with: its user (`u.*` first, so [`user`] reads it by
/// position), the invitation's `i_…` columns, which [`invitation`] reads, and its
/// workspace's id (`w_id`).
#[macro_export]
macro_rules! invitation_columns {
    () => {
        "u.*, i.id AS i_id, i.workspace_pk AS i_workspace_pk,
         i.user_pk AS i_user_pk, i.token_hash AS i_token_hash, i.created_at AS i_created_at,
         i.expires_at AS i_expires_at, i.accepted_at AS i_accepted_at,
         i.revoked_at AS i_revoked_at, w.id AS w_id"
    };
}

/// The query that finds an invitation by token hash (the backend's first placeholder, `?1`
/// or `$1`), with its user and its workspace's id.
#[macro_export]
macro_rules! find_invitation {
    ($placeholder:literal) => {
        concat!(
            "SELECT ",
            $crate::invitation_columns!(),
            " FROM invitations i JOIN users u ON u.pk = i.user_pk
              JOIN workspaces w ON w.pk = i.workspace_pk WHERE i.token_hash = ",
            $placeholder
        )
    };
}

/// Calls `$decoders!` with every record the shared decoders read, as `name -> Type`, so a
/// backend defines its `rows::name(row)` wrappers in one line.
#[macro_export]
macro_rules! for_each_record {
    ($decoders:ident) => {
        $decoders!(
            workspace -> roster_core::Workspace,
            api_key -> roster_core::keys::ApiKey,
            api_client -> roster_core::ApiClient,
            signing_key -> roster_core::signing::SigningKey,
            user -> roster_core::User,
            group -> roster_core::group::Group,
            membership -> roster_core::group::Membership,
            invitation -> roster_core::invitation::Invitation,
            setup_token -> roster_core::console::SetupToken,
            mail -> roster_core::outbox::Mail,
            session -> roster_core::session::Session,
            event -> roster_core::audit::AuditEvent,
            head -> roster_core::audit::AuditHead,
        );
    };
}

//! The core's one error type, with stable machine-readable codes.
//!
//! Every code a core operation can fail with is in [`Code`], with its string form and its
//! [`ErrorKind`]. Surfaces map the kind onto their own status codes and envelopes; the string
//! form is part of Roster's public contract and never changes meaning.

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueKey {
    /// Email, unique per workspace among users not soft-deleted.
    UserEmail,
    /// External id, unique per workspace, soft-deleted users included.
    UserExternalId,
    /// User name, unique per workspace (case-insensitively) among users not soft-deleted.
    UserName,
    WorkspaceName,
    /// Group name, unique per workspace (case-insensitively).
    GroupName,
    /// Any other unique index; a bug if it ever reaches a caller.
    Other,
}

/// A failed store call. Database errors are never turned into `None`: a missing row is
/// `Ok(None)`, a failure is an error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated: {0:?}")]
    Unique(UniqueKey),
    /// The database could not be reached or timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Backend(String),
    /// A conditional write found a row changed since it was read; nothing was written.
    #[error("a row changed since it was read")]
    Stale,
}

/// What sort of failure a code is; surfaces map it onto a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or out of range.
    Invalid,
    /// No credential, or one that is not valid.
    Unauthenticated,
    /// The caller may not do this.
    Forbidden,
    /// The record does not exist (or is not visible to the caller).
    NotFound,
    /// The change collides with the state of another record.
    Conflict,
    /// The record existed and is gone for good (an expired token, an erased user).
    Gone,
    /// The caller has used up its request budget for now.
    RateLimited,
    /// A dependency (the database) cannot be reached right now; retrying later may work.
    Unavailable,
    /// Something failed on Roster's side; the detail is logged, never shown.
    Internal,
}

macro_rules! codes {
    ($($variant:ident => $text:literal, $kind:ident, $meaning:literal;)*) => {
        /// Stable error codes of the core.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($variant),* }

        impl Code {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as it appears in responses.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text),* }
            }

            pub fn kind(self) -> ErrorKind {
                match self { $(Code::$variant => ErrorKind::$kind),* }
            }

            /// What the code means, for people (docs/errors.md is generated from it).
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => $meaning),* }
            }
        }
    };
}

codes! {
    FieldRequired => "field_required", Invalid,
        "A required field is missing or empty.";
    FieldTooLong => "field_too_long", Invalid,
        "A text field is longer than its limit.";
    InvalidField => "invalid_field", Invalid,
        "A field holds a value it cannot take (control characters, an empty external id, a wrong type of value).";
    InvalidEmail => "invalid_email", Invalid,
        "The email is not a valid address with a dotted domain.";
    UnknownRole => "unknown_role", Invalid,
        "The role is not one of the workspace's roles.";
    InvalidStatus => "invalid_status", Invalid,
        "The status is not one of invited, active, inactive.";
    InvalidStatusTransition => "invalid_status_transition", Invalid,
        "The user cannot go from its status to the one asked for (back to invited, or reactivating an invited user).";
    InvalidAttributes => "invalid_attributes", Invalid,
        "attributes is not a JSON object within the size, depth and key limits.";
    InvalidLimit => "invalid_limit", Invalid,
        "limit is outside 1 to 100.";
    InvalidCursor => "invalid_cursor", Invalid,
        "The cursor was not issued by Roster for this listing.";
    InvalidFilter => "invalid_filter", Invalid,
        "A query filter is malformed, names an unknown attribute or compares it with the wrong kind of value.";
    SearchTooShort => "search_too_short", Invalid,
        "A search needs at least three characters.";
    InvalidWorkspaceName => "invalid_workspace_name", Invalid,
        "A workspace name is 1 to 64 of a-z, 0-9, '-' and '_'.";
    InvalidSecretKey => "invalid_secret_key", Invalid,
        "A supplied secret key is not sk_live_ with 43 to 128 URL-safe characters.";
    UnknownScope => "unknown_scope", Invalid,
        "A scope name is not one Roster knows, or a credential was given no scope.";
    UnknownAction => "unknown_action", Invalid,
        "The audit action filter names no audit action.";
    InvalidTime => "invalid_time", Invalid,
        "A time is not RFC 3339 (or a date), or a window ends before it starts.";
    InvalidRetention => "invalid_retention", Invalid,
        "audit_retention_days is outside 1 to 3,650.";
    InvalidRateLimit => "invalid_rate_limit", Invalid,
        "rate_limit_per_minute is outside 1 to 100,000,000.";
    InvalidExpiry => "invalid_expiry", Invalid,
        "An expiry is not in the future, or an invitation expiry is outside 1 to 2,160 hours.";
    InvalidTokenRequest => "invalid_token_request", Invalid,
        "The client-token request's type is not \"client\".";
    UnsupportedFormat => "unsupported_format", Invalid,
        "The file format is not ndjson or csv.";
    InvalidImportHeader => "invalid_import_header", Invalid,
        "The CSV header names an unknown or repeated column; the whole file is refused.";
    InvalidRow => "invalid_row", Invalid,
        "An import row is not a valid user object or CSV row (reported with its line).";
    DuplicateRow => "duplicate_row", Invalid,
        "An import row names the same user as an earlier row of the file.";
    InvalidPasswordHash => "invalid_password_hash", Invalid,
        "An imported password hash is not argon2id or bcrypt within the cost bounds.";
    InvalidTemplate => "invalid_template", Invalid,
        "An invitation template has an unknown placeholder, a multi-line subject, or a text without {{token}}.";
    InvalidRole => "invalid_role", Invalid,
        "A role name is malformed, repeated, or the list is empty or too long.";
    UnknownGroup => "unknown_group", Invalid,
        "The group filter names no group of the workspace.";
    PasswordTooShort => "password_too_short", Invalid,
        "The password is shorter than the workspace's minimum.";
    PasswordTooLong => "password_too_long", Invalid,
        "The password is longer than 1,024 bytes.";
    PasswordTooCommon => "password_too_common", Invalid,
        "The password is one of the 10,000 most common ones (when the workspace refuses them).";
    InvalidSessionsLimit => "invalid_sessions_limit", Invalid,
        "sessions_limit is outside 1 to 999,999.";
    InvalidAuthSettings => "invalid_auth_settings", Invalid,
        "An auth setting is out of range, or the session lifetime is shorter than the idle time.";
    InvalidApiKey => "invalid_api_key", Unauthenticated,
        "The secret key is unknown, revoked or expired (or missing, on the dialects).";
    InvalidClientCredentials => "invalid_client_credentials", Unauthenticated,
        "The client id or secret is wrong, or the client was revoked.";
    InvalidToken => "invalid_token", Unauthenticated,
        "The client token is malformed, wrongly signed, or for another issuer or audience.";
    TokenExpired => "token_expired", Unauthenticated,
        "The client token is outside its validity window.";
    InvalidCredentials => "invalid_credentials", Unauthenticated,
        "The email, external id or password is wrong (the same answer whatever the reason).";
    InvalidSession => "invalid_session", Unauthenticated,
        "The session or personal token is unknown or malformed.";
    SessionExpired => "session_expired", Unauthenticated,
        "The session expired (idle too long, or past its lifetime).";
    SessionEnded => "session_ended", Unauthenticated,
        "The session was ended (signed out, forced out, or the user deactivated).";
    MissingScopeUsersRead => "missing_scope_users_read", Forbidden,
        "The credential lacks users:read.";
    MissingScopeUsersWrite => "missing_scope_users_write", Forbidden,
        "The credential lacks users:write.";
    MissingScopeAuditRead => "missing_scope_audit_read", Forbidden,
        "The credential lacks audit:read.";
    MissingScopeCredentialsManage => "missing_scope_credentials_manage", Forbidden,
        "The credential lacks credentials:manage.";
    MissingScopeScim => "missing_scope_scim", Forbidden,
        "The credential lacks scim.";
    MissingScopeAdmin => "missing_scope_admin", Forbidden,
        "The credential lacks admin.";
    ScopeNotDelegable => "scope_not_delegable", Forbidden,
        "A credential cannot grant, change or revoke a scope it does not hold.";
    AdminApiDisabled => "admin_api_disabled", Forbidden,
        "The client's admin API is not enabled.";
    OperatorWorkspaceRequired => "operator_workspace_required", Forbidden,
        "Only admin credentials of the operator workspace manage workspaces.";
    ConsoleForbidden => "console_forbidden", Forbidden,
        "Only active users with the admin role may use the console.";
    RateLimited => "rate_limited", RateLimited,
        "The credential's requests per minute are used up; retry after Retry-After.";
    TooManyAttempts => "too_many_attempts", RateLimited,
        "Too many failures for this name or address; retry after Retry-After.";
    ExternalIdRetired => "external_id_retired", Forbidden,
        "The external id belongs to a soft-deleted user until it is restored or purged.";
    SessionLimitReached => "session_limit_reached", Forbidden,
        "The user has as many sessions as its limit and the workspace refuses more.";
    UserInactive => "user_inactive", Forbidden,
        "The user is deactivated or deleted; its sessions and tokens are refused.";
    TokenNotAllowed => "token_not_allowed", Forbidden,
        "The user may not create a personal token.";
    SessionRequired => "session_required", Forbidden,
        "Only a sign-in session may create a personal token.";
    UserNotFound => "user_not_found", NotFound,
        "No such user in the caller's workspace (or it is deleted).";
    ApiKeyNotFound => "api_key_not_found", NotFound,
        "No such live key in the caller's workspace.";
    ApiClientNotFound => "api_client_not_found", NotFound,
        "No such live client in the caller's workspace.";
    WorkspaceNotFound => "workspace_not_found", NotFound,
        "No such workspace (or not the caller's).";
    GroupNotFound => "group_not_found", NotFound,
        "No such group in the caller's workspace.";
    NotAMember => "not_a_member", NotFound,
        "The user is not a member of the group.";
    InvitationNotFound => "invitation_not_found", NotFound,
        "The invitation token is unknown.";
    InvitationExpired => "invitation_expired", Gone,
        "The invitation token expired.";
    InvitationRevoked => "invitation_revoked", Gone,
        "The invitation token was replaced or revoked.";
    InvitationUsed => "invitation_used", Gone,
        "The invitation token was already used.";
    SetupLinkInvalid => "setup_link_invalid", NotFound,
        "The console setup link's token is unknown.";
    SetupLinkExpired => "setup_link_expired", Gone,
        "The console setup link expired (they last 24 hours).";
    SetupLinkUsed => "setup_link_used", Gone,
        "The console setup link was already used.";
    UserPurged => "user_purged", Gone,
        "The user was erased; its id answers this on every read and change.";
    SessionNotFound => "session_not_found", NotFound,
        "No such session of the user.";
    EmailTaken => "email_taken", Conflict,
        "Another live user of the workspace has this email.";
    ExternalIdTaken => "external_id_taken", Conflict,
        "Another user of the workspace has this external id.";
    UserNameTaken => "user_name_taken", Conflict,
        "Another live user of the workspace has this user name (compared case-insensitively).";
    WorkspaceNameTaken => "workspace_name_taken", Conflict,
        "Another workspace has this name.";
    ConcurrentUpdate => "concurrent_update", Conflict,
        "The record changed while the request was applied; retry it.";
    VersionMismatch => "version_mismatch", Conflict,
        "The record's version is not the one the request was made for (a stale If-Match).";
    UserNotDeleted => "user_not_deleted", Conflict,
        "The user is not deleted, so it cannot be restored.";
    UserNotInvited => "user_not_invited", Conflict,
        "Only an invited user can be sent an invitation.";
    RoleInUse => "role_in_use", Conflict,
        "A user (deleted ones included) still has the role.";
    LastAdminCredential => "last_admin_credential", Conflict,
        "This is the operator workspace's last admin credential.";
    GroupNameTaken => "group_name_taken", Conflict,
        "Another group of the workspace has this name.";
    TokenExists => "token_exists", Conflict,
        "The user already has a live personal token.";
    StoreUnavailable => "store_unavailable", Unavailable,
        "The database cannot be reached; retry after Retry-After.";
    Internal => "internal_error", Internal,
        "Something failed on Roster's side; the detail is in the server's log.";
}

/// What an unavailable store answers as `Retry-After`, in seconds.
pub const UNAVAILABLE_RETRY_SECONDS: i64 = 2;

/// A failed core operation.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// The input field at fault, where there is one.
    pub field: Option<&'static str>,
    /// For a refusal to try now: when to try again, in seconds.
    pub retry_after: Option<i64>,
    #[source]
    source: Option<StoreError>,
}

impl Error {
    /// A write made for a version of its record that is no longer current (`If-Match`).
    pub fn version_mismatch() -> Self {
        Self::new(
            Code::VersionMismatch,
            "The record changed since the version this request names (If-Match).",
        )
    }

    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            source: None,
        }
    }

    /// This error, telling the caller to retry after `seconds`.
    pub fn with_retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// An error about one input field.
    pub fn field(code: Code, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            ..Self::new(code, message)
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.code.kind()
    }

    pub fn user_not_found() -> Self {
        Self::new(Code::UserNotFound, "No user with this id exists.")
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        let (code, field, message) = match &err {
            StoreError::Unique(UniqueKey::UserEmail) => (
                Code::EmailTaken,
                Some("email"),
                "A user with this email already exists.",
            ),
            StoreError::Unique(UniqueKey::UserExternalId) => (
                Code::ExternalIdTaken,
                Some("external_id"),
                "A user with this external_id already exists.",
            ),
            StoreError::Unique(UniqueKey::UserName) => (
                Code::UserNameTaken,
                Some("user_name"),
                "A user with this user_name already exists.",
            ),
            StoreError::Unique(UniqueKey::WorkspaceName) => (
                Code::WorkspaceNameTaken,
                Some("name"),
                "A workspace with this name already exists.",
            ),
            StoreError::Unique(UniqueKey::GroupName) => (
                Code::GroupNameTaken,
                Some("name"),
                "Another group of this workspace has this name.",
            ),
            StoreError::Unique(UniqueKey::Other) | StoreError::Backend(_) => {
                (Code::Internal, None, "An internal error occurred.")
            }
            StoreError::Stale => (
                Code::ConcurrentUpdate,
                None,
                "The record changed while this request was being applied; retry.",
            ),
            StoreError::Unavailable(_) => (
                Code::StoreUnavailable,
                None,
                "The database is unavailable; try again later.",
            ),
        };
        // When to retry an unavailable store is decided here, once, for every surface.
        let retry_after = (code == Code::StoreUnavailable).then_some(UNAVAILABLE_RETRY_SECONDS);
        Self {
            code,
            message: message.to_owned(),
            field,
            retry_after,
            source: Some(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "duplicate code {text}");
            assert!(text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn unique_violations_become_conflicts() {
        let err = Error::from(StoreError::Unique(UniqueKey::UserEmail));
        assert_eq!(err.code, Code::EmailTaken);
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert_eq!(err.field, Some("email"));
    }
}

//! The core's one error type, with stable machine-readable codes.
//!
//! Every code a core operation can fail with is in [`Code`], with its string form and its
//! [`ErrorKind`]. Surfaces map the kind onto their own status codes and envelopes; the string
//! form is part of Roster's public contract and never changes meaning.

use crate::store::{StoreError, UniqueKey};

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    /// Something failed on Roster's side; the detail is logged, never shown.
    Internal,
}

macro_rules! codes {
    ($($variant:ident => $text:literal, $kind:ident;)*) => {
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
        }
    };
}

codes! {
    FieldRequired => "field_required", Invalid;
    FieldTooLong => "field_too_long", Invalid;
    InvalidField => "invalid_field", Invalid;
    InvalidEmail => "invalid_email", Invalid;
    UnknownRole => "unknown_role", Invalid;
    InvalidStatus => "invalid_status", Invalid;
    InvalidStatusTransition => "invalid_status_transition", Invalid;
    InvalidAttributes => "invalid_attributes", Invalid;
    InvalidLimit => "invalid_limit", Invalid;
    InvalidCursor => "invalid_cursor", Invalid;
    SearchTooShort => "search_too_short", Invalid;
    InvalidWorkspaceName => "invalid_workspace_name", Invalid;
    InvalidSecretKey => "invalid_secret_key", Invalid;
    UnknownScope => "unknown_scope", Invalid;
    UnknownAction => "unknown_action", Invalid;
    InvalidTime => "invalid_time", Invalid;
    InvalidRetention => "invalid_retention", Invalid;
    InvalidRateLimit => "invalid_rate_limit", Invalid;
    InvalidExpiry => "invalid_expiry", Invalid;
    InvalidTokenRequest => "invalid_token_request", Invalid;
    UnsupportedFormat => "unsupported_format", Invalid;
    InvalidImportHeader => "invalid_import_header", Invalid;
    InvalidRow => "invalid_row", Invalid;
    DuplicateRow => "duplicate_row", Invalid;
    InvalidPasswordHash => "invalid_password_hash", Invalid;
    InvalidTemplate => "invalid_template", Invalid;
    InvalidRole => "invalid_role", Invalid;
    UnknownGroup => "unknown_group", Invalid;
    PasswordTooShort => "password_too_short", Invalid;
    PasswordTooLong => "password_too_long", Invalid;
    PasswordTooCommon => "password_too_common", Invalid;
    InvalidSessionsLimit => "invalid_sessions_limit", Invalid;
    InvalidAuthSettings => "invalid_auth_settings", Invalid;
    InvalidApiKey => "invalid_api_key", Unauthenticated;
    InvalidClientCredentials => "invalid_client_credentials", Unauthenticated;
    InvalidToken => "invalid_token", Unauthenticated;
    TokenExpired => "token_expired", Unauthenticated;
    InvalidCredentials => "invalid_credentials", Unauthenticated;
    InvalidSession => "invalid_session", Unauthenticated;
    SessionExpired => "session_expired", Unauthenticated;
    SessionEnded => "session_ended", Unauthenticated;
    MissingScopeUsersRead => "missing_scope_users_read", Forbidden;
    MissingScopeUsersWrite => "missing_scope_users_write", Forbidden;
    MissingScopeAuditRead => "missing_scope_audit_read", Forbidden;
    MissingScopeCredentialsManage => "missing_scope_credentials_manage", Forbidden;
    MissingScopeAdmin => "missing_scope_admin", Forbidden;
    ScopeNotDelegable => "scope_not_delegable", Forbidden;
    AdminApiDisabled => "admin_api_disabled", Forbidden;
    OperatorWorkspaceRequired => "operator_workspace_required", Forbidden;
    RateLimited => "rate_limited", RateLimited;
    TooManyAttempts => "too_many_attempts", RateLimited;
    ExternalIdRetired => "external_id_retired", Forbidden;
    SessionLimitReached => "session_limit_reached", Forbidden;
    UserInactive => "user_inactive", Forbidden;
    TokenNotAllowed => "token_not_allowed", Forbidden;
    SessionRequired => "session_required", Forbidden;
    UserNotFound => "user_not_found", NotFound;
    ApiKeyNotFound => "api_key_not_found", NotFound;
    ApiClientNotFound => "api_client_not_found", NotFound;
    WorkspaceNotFound => "workspace_not_found", NotFound;
    GroupNotFound => "group_not_found", NotFound;
    NotAMember => "not_a_member", NotFound;
    InvitationNotFound => "invitation_not_found", NotFound;
    InvitationExpired => "invitation_expired", Gone;
    InvitationRevoked => "invitation_revoked", Gone;
    InvitationUsed => "invitation_used", Gone;
    UserPurged => "user_purged", Gone;
    SessionNotFound => "session_not_found", NotFound;
    EmailTaken => "email_taken", Conflict;
    ExternalIdTaken => "external_id_taken", Conflict;
    WorkspaceNameTaken => "workspace_name_taken", Conflict;
    ConcurrentUpdate => "concurrent_update", Conflict;
    UserNotDeleted => "user_not_deleted", Conflict;
    UserNotInvited => "user_not_invited", Conflict;
    RoleInUse => "role_in_use", Conflict;
    LastAdminCredential => "last_admin_credential", Conflict;
    GroupNameTaken => "group_name_taken", Conflict;
    TokenExists => "token_exists", Conflict;
    StoreUnavailable => "store_unavailable", Internal;
    Internal => "internal_error", Internal;
}

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
        Self {
            code,
            message: message.to_owned(),
            field,
            retry_after: None,
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

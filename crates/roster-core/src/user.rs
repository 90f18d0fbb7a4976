//! Users: their fields, their statuses and the rules every surface's input goes through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::attributes::{self, Attributes};
use crate::error::{Code, Error, Result};
use crate::workspace::Workspace;

pub const MAX_NAME_CHARS: usize = 256;
pub const MAX_PART_NAME_CHARS: usize = 128;
/// RFC 5321's limit on a forward path, less the angle brackets.
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;
/// SCIM's `userName` (an email, a UPN, a login): unique per workspace, case-insensitively.
pub const MAX_USER_NAME_CHARS: usize = 255;
/// Seed 004: "an integer no greater than 999999".
pub const MAX_SESSIONS_LIMIT: i64 = 999_999;
/// Seed 003's invite `message`, shown in the mail.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// Where a user is in its lifecycle (seed 002's words). Soft deletion is separate:
/// `deleted_at` is set on a user of any status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Created with an invitation that has not been accepted.
    Invited,
    Active,
    /// Deactivated: cannot sign in by any means.
    Inactive,
}

impl UserStatus {
    pub const ALL: [UserStatus; 3] = [Self::Invited, Self::Active, Self::Inactive];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                Error::field(
                    Code::InvalidStatus,
                    "status",
                    format!(
                        "Unknown status '{}'; use invited, active or inactive.",
                        truncate(text, 32)
                    ),
                )
            })
    }

    /// An administrator may activate or deactivate any user; nobody can send a user back to
    /// `invited` (that is what a new invitation is for).
    pub fn can_become(self, next: UserStatus) -> bool {
        self == next || next != UserStatus::Invited
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Integer id, assigned by the store (seeds 003 and 004 show it as `id`).
    pub key: i64,
    /// Public id, `usr_…`.
    pub id: String,
    /// Seed 000/001's `humanId` is its simple hex form, seed 004's `uuid` its hyphenated one.
    pub uuid: uuid::Uuid,
    pub workspace_key: i64,
    pub external_id: Option<String>,
    /// How the user signs in to the organisation's identity provider (SCIM's `userName`):
    /// unique per workspace among live users, compared case-insensitively
    /// ([`User::user_name_key`]). A user made without one takes its email.
    pub user_name: String,
    /// As given, trimmed; empty for a user without one (only SCIM makes such users, and
    /// never invited ones: an invitation goes to the email). Matching uses [`email_key`].
    pub email: String,
    pub name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub role: String,
    pub status: UserStatus,
    pub attributes: Attributes,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Bumped on every write, for optimistic concurrency.
    pub version: i64,
    /// Seed 004: at most this many sessions at once; `None` for no limit.
    pub sessions_limit: Option<u32>,
    /// Seed 003: whether the user may create a personal API token (an admin's switch).
    pub allow_authentication_token: bool,
    /// Seed 003: whether the user has a live personal token. Written by the store with the
    /// token, never by a user update.
    pub has_authentication_token: bool,
    /// Seed 003: the latest sign-in, and the one before it. Written by sign-ins only.
    pub current_sign_in_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The key the store enforces email uniqueness on and matches `email` filters with. A
    /// user without an email gets a key of its own that no input can name (keys made from
    /// input are lower-cased; this one is not), so users without one never collide and
    /// never match a lookup.
    pub fn email_key(&self) -> String {
        if self.email.is_empty() {
            format!("{NO_EMAIL_KEY}{}", self.uuid.simple())
        } else {
            email_key(&self.email)
        }
    }

    pub fn has_email(&self) -> bool {
        !self.email.is_empty()
    }

    /// The lower-cased user name uniqueness is kept by.
    pub fn user_name_key(&self) -> String {
        self.user_name.to_lowercase()
    }
}

/// A new user as a surface received it. Every field is optional here so that a missing
/// required field gets the same `field_required` error from every surface.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    /// True (the default) starts the user `invited`; false starts it `active`.
    pub send_invitation: Option<bool>,
    /// `Some(false)` starts the user `inactive`, with no invitation (SCIM's `active`).
    pub active: Option<bool>,
    pub external_id: Option<String>,
    /// Defaults to the email.
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub attributes: Option<Value>,
    /// A personal note for the invitation mail (seed 003's `message`).
    pub message: Option<String>,
    /// A first password (seed 004's `new_password`), checked against the workspace policy.
    pub password: Option<String>,
    /// Seed 004: 1 to 999,999, or none.
    pub sessions_limit: Option<i64>,
    pub allow_authentication_token: Option<bool>,
    /// Groups the user starts in (seed 004's plan), written with the user.
    pub groups: Vec<GroupGrant>,
    /// The surface's contract lets a user have no email (SCIM: identity providers provision
    /// users without a mailbox). Even then an invited user needs one.
    pub email_optional: bool,
}

/// A membership asked for with a user's creation or change: the group's id, and when the
/// membership ends (in the future), if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupGrant {
    pub group_id: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The valid fields of a new user.
#[derive(Debug, Clone)]
pub(crate) struct ValidNewUser {
    pub name: String,
    pub email: String,
    pub role: String,
    pub status: UserStatus,
    pub external_id: Option<String>,
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub attributes: Attributes,
    pub message: Option<String>,
    pub sessions_limit: Option<u32>,
    pub allow_authentication_token: bool,
}

impl NewUser {
    pub(crate) fn validate(self, workspace: &Workspace) -> Result<ValidNewUser> {
        let name = required("name", self.name)?;
        let inviting = self.active != Some(false) && self.send_invitation.unwrap_or(true);
        let email = match self.email.filter(|e| !e.trim().is_empty()) {
            Some(email) => validate_email(&email)?,
            None if self.email_optional && !inviting => String::new(),
            None => return Err(missing("email")),
        };
        let role = required("role", self.role)?;
        Ok(ValidNewUser {
            name: validate_name(&name)?,
            user_name: match self.user_name.as_deref() {
                Some(user_name) => validate_user_name(user_name)?,
                None if email.is_empty() => return Err(missing("user_name")),
                None => email.clone(),
            },
            email,
            role: validate_role(workspace, &role)?,
            status: if self.active == Some(false) {
                UserStatus::Inactive
            } else if self.send_invitation.unwrap_or(true) {
                UserStatus::Invited
            } else {
                UserStatus::Active
            },
            external_id: self
                .external_id
                .as_deref()
                .map(validate_external_id)
                .transpose()?,
            given_name: validate_part_name("given_name", self.given_name.as_deref())?,
            family_name: validate_part_name("family_name", self.family_name.as_deref())?,
            attributes: match self.attributes {
                None | Some(Value::Null) => Attributes::new(),
                Some(value) => attributes::validate(value)?,
            },
            message: validate_message(self.message.as_deref())?,
            sessions_limit: self
                .sessions_limit
                .map(validate_sessions_limit)
                .transpose()?,
            allow_authentication_token: self.allow_authentication_token.unwrap_or(false),
        })
    }
}

/// A partial update. For each field: `None` leaves it alone; for the nullable ones
/// `Some(None)` clears it. `attributes` is a JSON Merge Patch.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub role: Option<Option<String>>,
    pub status: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub user_name: Option<String>,
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub attributes: Option<Value>,
    /// With a role change: take the user out of every group (seed 003's `remove_groups`).
    pub remove_groups: bool,
    /// `Some(None)` removes the limit.
    pub sessions_limit: Option<Option<i64>>,
    /// Turning it off revokes the user's personal token.
    pub allow_authentication_token: Option<bool>,
    /// A new password (checked against the workspace's policy); setting it ends the user's
    /// sign-in sessions, as an admin's password change does.
    pub password: Option<String>,
    /// Groups to put the user in (or whose expiry to change), in the same write.
    pub join_groups: Vec<GroupGrant>,
    /// `email: Some(None)` (or empty) removes the email rather than being refused; an
    /// invited user keeps needing one ([`NewUser::email_optional`]).
    pub email_optional: bool,
    /// Make the change only while the user is at this version (an HTTP `If-Match`);
    /// `version_mismatch` otherwise.
    pub if_version: Option<i64>,
}

impl UserPatch {
    /// Apply the patch to `user`, validating each field as creation does. Returns whether
    /// anything changed.
    pub(crate) fn apply(&self, workspace: &Workspace, user: &mut User) -> Result<bool> {
        if self.if_version.is_some_and(|v| v != user.version) {
            return Err(Error::version_mismatch());
        }
        let before = user.clone();
        if let Some(name) = &self.name {
            user.name = validate_name(&required("name", name.clone())?)?;
        }
        match self
            .email
            .as_ref()
            .map(|e| e.as_deref().map(str::trim).filter(|e| !e.is_empty()))
        {
            None => {}
            Some(Some(email)) => user.email = validate_email(email)?,
            Some(None) if self.email_optional && user.status != UserStatus::Invited => {
                user.email = String::new();
            }
            Some(None) => return Err(missing("email")),
        }
        if let Some(role) = &self.role {
            user.role = validate_role(workspace, &required("role", role.clone())?)?;
        }
        if let Some(status) = &self.status {
            let next = UserStatus::parse(&required("status", status.clone())?)?;
            if !user.status.can_become(next) {
                return Err(Error::field(
                    Code::InvalidStatusTransition,
                    "status",
                    format!(
                        "A user cannot go from {} to {}; send a new invitation instead.",
                        user.status.as_str(),
                        next.as_str()
                    ),
                ));
            }
            user.status = next;
        }
        if let Some(external_id) = &self.external_id {
            user.external_id = external_id
                .as_deref()
                .map(validate_external_id)
                .transpose()?;
        }
        if let Some(user_name) = &self.user_name {
            user.user_name = validate_user_name(user_name)?;
        }
        if let Some(given_name) = &self.given_name {
            user.given_name = validate_part_name("given_name", given_name.as_deref())?;
        }
        if let Some(family_name) = &self.family_name {
            user.family_name = validate_part_name("family_name", family_name.as_deref())?;
        }
        if let Some(limit) = self.sessions_limit {
            user.sessions_limit = limit.map(validate_sessions_limit).transpose()?;
        }
        if let Some(allow) = self.allow_authentication_token {
            user.allow_authentication_token = allow;
        }
        match &self.attributes {
            None => {}
            Some(Value::Null) => user.attributes = Attributes::new(),
            Some(patch) => user.attributes = attributes::merge(&user.attributes, patch.clone())?,
        }
        Ok(*user != before)
    }
}

/// The lower-cased form emails are matched and kept unique by.
/// How the key of a user without an email begins (its UUID follows): upper case, so no
/// real email's key (lower case) begins so.
pub const NO_EMAIL_KEY: &str = "~NO-EMAIL~";

pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The error of a required field that is missing.
fn missing(field: &'static str) -> Error {
    Error::field(Code::FieldRequired, field, format!("{field} is required."))
}

fn required(field: &'static str, value: Option<String>) -> Result<String> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(missing(field)),
    }
}

fn check_text(field: &'static str, value: &str, max_chars: usize) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > max_chars {
        return Err(Error::field(
            Code::FieldTooLong,
            field,
            format!("{field} may be at most {max_chars} characters."),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::field(
            Code::InvalidField,
            field,
            format!("{field} may not contain control characters."),
        ));
    }
    Ok(value.to_owned())
}

pub fn validate_name(name: &str) -> Result<String> {
    check_text("name", name, MAX_NAME_CHARS)
}

pub(crate) fn validate_part_name(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => check_text(field, v, MAX_PART_NAME_CHARS).map(Some),
    }
}

/// Emails are trimmed, must be a valid address (RFC 5322 addr-spec, as the `email_address`
/// crate reads it) with a dotted domain, and at most 254 characters.
pub fn validate_email(email: &str) -> Result<String> {
    let email = email.trim();
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(Error::field(
            Code::FieldTooLong,
            "email",
            format!("email may be at most {MAX_EMAIL_CHARS} characters."),
        ));
    }
    let dotted_domain = email.rsplit_once('@').is_some_and(|(_, domain)| {
        domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
    });
    let plain = !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if plain && dotted_domain && email_address::EmailAddress::is_valid(email) {
        Ok(email.to_owned())
    } else {
        Err(Error::field(
            Code::InvalidEmail,
            "email",
            format!("'{}' is not a valid email address.", truncate(email, 64)),
        ))
    }
}

pub fn validate_role(workspace: &Workspace, role: &str) -> Result<String> {
    let role = role.trim();
    if workspace.has_role(role) {
        Ok(role.to_owned())
    } else {
        Err(Error::field(
            Code::UnknownRole,
            "role",
            format!(
                "Unknown role '{}'; this workspace's roles are: {}.",
                truncate(role, 32),
                workspace.roles.join(", ")
            ),
        ))
    }
}

pub fn validate_external_id(external_id: &str) -> Result<String> {
    let value = check_text("external_id", external_id, MAX_EXTERNAL_ID_CHARS)?;
    if value.is_empty() {
        return Err(Error::field(
            Code::InvalidField,
            "external_id",
            "external_id may not be empty; omit it or send null.",
        ));
    }
    Ok(value)
}

/// A user name: 1 to [`MAX_USER_NAME_CHARS`] characters after trimming, no control
/// characters ([`check_text`]).
pub fn validate_user_name(user_name: &str) -> Result<String> {
    let value = check_text("user_name", user_name, MAX_USER_NAME_CHARS)?;
    if value.is_empty() {
        return Err(Error::field(
            Code::FieldRequired,
            "user_name",
            "user_name may not be empty.",
        ));
    }
    Ok(value)
}

/// Seed 004's `sessions_limit`: 1 to 999,999.
pub fn validate_sessions_limit(limit: i64) -> Result<u32> {
    if (1..=MAX_SESSIONS_LIMIT).contains(&limit) {
        u32::try_from(limit).map_err(|_| invalid_sessions_limit())
    } else {
        Err(invalid_sessions_limit())
    }
}

fn invalid_sessions_limit() -> Error {
    Error::field(
        Code::InvalidSessionsLimit,
        "sessions_limit",
        format!("sessions_limit must be between 1 and {MAX_SESSIONS_LIMIT}, or null for no limit."),
    )
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// Check an invitation's optional message (seed 003's `message`).
pub fn validate_message(message: Option<&str>) -> Result<Option<String>> {
    match message.map(str::trim) {
        None | Some("") => Ok(None),
        Some(m) if m.chars().count() > MAX_MESSAGE_CHARS => Err(Error::field(
            Code::FieldTooLong,
            "message",
            format!("message may be at most {MAX_MESSAGE_CHARS} characters."),
        )),
        Some(m) if m.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            Err(Error::field(
                Code::InvalidField,
                "message",
                "message may not contain control characters other than newlines and tabs.",
            ))
        }
        Some(m) => Ok(Some(m.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Workspace {
        Workspace {
            key: 1,
            id: "ws_1".into(),
            name: "default".into(),
            roles: vec!["admin".into(), "editor".into(), "viewer".into()],
            created_at: Utc::now(),
            is_operator: false,
            rate_limit_per_minute: None,
            audit_retention_days: 90,
            invitations: Default::default(),
            auth: Default::default(),
        }
    }

    fn new_user() -> NewUser {
        NewUser {
            name: Some("Alex Morgan".into()),
            email: Some("  Alex@Company.io ".into()),
            role: Some("editor".into()),
            ..NewUser::default()
        }
    }

    #[test]
    fn create_trims_and_defaults_to_invited() {
        let valid = new_user().validate(&workspace()).unwrap();
        assert_eq!(valid.email, "Alex@Company.io");
        assert_eq!(email_key(&valid.email), "alex@company.io");
        assert_eq!(valid.status, UserStatus::Invited);
        let no_invite = NewUser {
            send_invitation: Some(false),
            ..new_user()
        };
        assert_eq!(
            no_invite.validate(&workspace()).unwrap().status,
            UserStatus::Active
        );
    }

    #[test]
    fn required_fields_are_named() {
        for (field, input) in [
            (
                "name",
                NewUser {
                    name: None,
                    ..new_user()
                },
            ),
            (
                "email",
                NewUser {
                    email: Some("  ".into()),
                    ..new_user()
                },
            ),
            (
                "role",
                NewUser {
                    role: None,
                    ..new_user()
                },
            ),
        ] {
            let err = input.validate(&workspace()).unwrap_err();
            assert_eq!((err.code, err.field), (Code::FieldRequired, Some(field)));
        }
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "plain",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "@c.com",
            "a@c.com.",
            "a@.c.com",
        ] {
            assert_eq!(
                validate_email(bad).unwrap_err().code,
                Code::InvalidEmail,
                "{bad}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(validate_email(&long).unwrap_err().code, Code::FieldTooLong);
        assert!(validate_email("jane.doe+tag@sub.example.co.uk").is_ok());
    }

    #[test]
    fn unknown_roles_and_long_fields_are_refused() {
        let err = NewUser {
            role: Some("owner".into()),
            ..new_user()
        }
        .validate(&workspace())
        .unwrap_err();
        assert_eq!(err.code, Code::UnknownRole);
        let err = NewUser {
            name: Some("x".repeat(MAX_NAME_CHARS + 1)),
            ..new_user()
        }
        .validate(&workspace())
        .unwrap_err();
        assert_eq!(err.code, Code::FieldTooLong);
        let err = NewUser {
            external_id: Some("x".repeat(MAX_EXTERNAL_ID_CHARS + 1)),
            ..new_user()
        }
        .validate(&workspace())
        .unwrap_err();
        assert_eq!(
            (err.code, err.field),
            (Code::FieldTooLong, Some("external_id"))
        );
        let err = NewUser {
            given_name: Some("a\u{0}b".into()),
            ..new_user()
        }
        .validate(&workspace())
        .unwrap_err();
        assert_eq!(
            (err.code, err.field),
            (Code::InvalidField, Some("given_name"))
        );
    }

    #[test]
    fn users_without_email_have_keys_no_input_can_name() {
        let mut valid = NewUser {
            email: None,
            user_name: Some("ann".into()),
            send_invitation: Some(false),
            email_optional: true,
            ..new_user()
        };
        assert_eq!(valid.clone().validate(&workspace()).unwrap().email, "");
        valid.send_invitation = Some(true);
        let err = valid.validate(&workspace()).unwrap_err();
        assert_eq!((err.code, err.field), (Code::FieldRequired, Some("email")));
        let user = User {
            key: 1,
            id: "usr_1".into(),
            uuid: uuid::Uuid::from_u128(7),
            workspace_key: 1,
            external_id: None,
            user_name: "ann".into(),
            email: String::new(),
            name: "Ann".into(),
            given_name: None,
            family_name: None,
            role: "viewer".into(),
            status: UserStatus::Active,
            attributes: Attributes::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
            version: 1,
            sessions_limit: None,
            allow_authentication_token: false,
            has_authentication_token: false,
            current_sign_in_at: None,
            last_sign_in_at: None,
        };
        assert_ne!(email_key(&user.email_key()), user.email_key());
    }

    #[test]
    fn status_never_goes_back_to_invited() {
        assert!(UserStatus::Invited.can_become(UserStatus::Active));
        assert!(UserStatus::Active.can_become(UserStatus::Inactive));
        assert!(UserStatus::Inactive.can_become(UserStatus::Active));
        assert!(!UserStatus::Active.can_become(UserStatus::Invited));
        assert!(UserStatus::Invited.can_become(UserStatus::Invited));
    }
}

//! How a surface names a user: Roster's own id, or what a vendor API shows (an integer
//! key, a UUID, an external id). Every core operation on one user takes a [`UserRef`], so a
//! dialect handler makes one call, and the core reads the user once.

use crate::error::{Error, Result};
use crate::roster::Roster;
use crate::step::Lookup;
use crate::user::User;
use crate::workspace::Workspace;

/// A reference to one user of a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRef<'a> {
    /// Roster's id (`usr_…`).
    Id(&'a str),
    /// The integer key (seeds 003 and 004 show it as `id`).
    Key(i64),
    /// The UUID (seeds 000 and 001 show it as `humanId`).
    Uuid(uuid::Uuid),
    /// The id the organisation's own systems gave the user.
    ExternalId(&'a str),
    /// An integer key if the text is one and such a user exists, else an external id
    /// (seed 004's force logout takes either).
    KeyOrExternalId(&'a str),
}

impl<'a> From<&'a str> for UserRef<'a> {
    fn from(id: &'a str) -> Self {
        UserRef::Id(id)
    }
}

impl<'a> From<&'a String> for UserRef<'a> {
    fn from(id: &'a String) -> Self {
        UserRef::Id(id)
    }
}

impl Roster {
    /// The user `user` names: a live one, or with `Lookup::AnyState` a soft-deleted one too.
    /// Not found is 404 `user_not_found` (410 `user_purged` for a purged Roster id).
    pub(crate) async fn find_user(
        &self,
        workspace: &Workspace,
        user: UserRef<'_>,
        lookup: Lookup,
    ) -> Result<User> {
        let found = match user {
            UserRef::Id(id) => {
                return match lookup {
                    Lookup::Live => self.get_user(workspace, id).await,
                    Lookup::AnyState => self.get_user_any_state(workspace, id).await,
                }
            }
            UserRef::Key(key) => self.store.find_user_by_key(workspace.key, key).await?,
            UserRef::Uuid(uuid) => self.store.find_user_by_uuid(workspace.key, uuid).await?,
            UserRef::ExternalId(id) => {
                self.store
                    .find_user_by_external_id(workspace.key, id)
                    .await?
            }
            UserRef::KeyOrExternalId(text) => {
                // An integer names the user with that key; if there is none, the text may be
                // an external id that looks like a number.
                let by_key = match text.trim().parse::<i64>() {
                    Ok(key) => self.store.find_user_by_key(workspace.key, key).await?,
                    Err(_) => None,
                };
                match by_key.filter(|user| lookup == Lookup::AnyState || !user.is_deleted()) {
                    Some(user) => Some(user),
                    None => {
                        self.store
                            .find_user_by_external_id(workspace.key, text)
                            .await?
                    }
                }
            }
        };
        match found {
            Some(user) if lookup == Lookup::AnyState || !user.is_deleted() => Ok(user),
            _ => Err(Error::user_not_found()),
        }
    }
}

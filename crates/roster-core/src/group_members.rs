//! Changing a group and many of its members at once (SCIM's group PATCH and PUT): the
//! group's fields and every membership added or removed are one write, with one audit event
//! for the group and one per member, not one transaction per member.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit::{Action, AuditContext, NewEvent};
use crate::error::{Code, Error, Result};
use crate::group::{
    group_fields, group_not_found, validate_description, validate_group_name, with_group_id, Group,
    GroupInput, Membership,
};
use crate::ids;
use crate::roster::Roster;
use crate::store::MembershipWrite;
use crate::user::User;
use crate::workspace::Workspace;

/// How many members one change may add or remove.
pub const MAX_MEMBER_CHANGES: usize = 100_000;

/// What to change in a group besides its fields.
#[derive(Debug, Clone, Default)]
pub struct MemberChanges {
    /// User ids to add (already members stay as they are).
    pub add: Vec<String>,
    /// User ids to remove (non-members are ignored).
    pub remove: Vec<String>,
    /// The whole new member list, replacing the current one (`add`/`remove` then ignored).
    pub replace: Option<Vec<String>>,
}

impl MemberChanges {
    fn len(&self) -> usize {
        self.add.len() + self.remove.len() + self.replace.as_ref().map_or(0, Vec::len)
    }
}

/// A group's version for optimistic concurrency (SCIM's ETag): its last change's time.
pub fn group_version(group: &Group) -> i64 {
    group.updated_at.timestamp_micros()
}

impl Roster {
    /// Create a group with its first members, in one write.
    pub async fn create_group_with_members(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        input: GroupInput,
        members: Vec<String>,
    ) -> Result<Group> {
        let name = validate_group_name(input.name.as_deref().unwrap_or(""))?;
        let description = validate_description(input.description.flatten().as_deref())?;
        let now = self.clock.now();
        let mut group = Group {
            key: 0,
            id: ids::new_sortable_id("grp", now, self.random.as_ref()),
            workspace_key: workspace.key,
            name,
            description,
            external_id: input
                .external_id
                .flatten()
                .as_deref()
                .map(crate::user::validate_external_id)
                .transpose()?,
            created_at: now,
            updated_at: now,
        };
        let changes = MemberChanges {
            add: members,
            ..MemberChanges::default()
        };
        let users = self.users_named(workspace, &changes.add).await?;
        let mut events = vec![self.event(
            ctx,
            Action::GroupCreate,
            None,
            crate::audit::diff(&Default::default(), &group_fields(&group)),
        )];
        let writes = self.member_writes(ctx, &group, &users, &[], now, &mut events);
        group.key = self.write_group(&group, None, &writes, &events).await?;
        Ok(group)
    }

    /// Change a group's fields and members in one write. With `if_version`, the change is
    /// made only while the group is still at that version ([`group_version`]).
    pub async fn change_group(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        id: &str,
        input: GroupInput,
        members: MemberChanges,
        if_version: Option<i64>,
    ) -> Result<Group> {
        if members.len() > MAX_MEMBER_CHANGES {
            return Err(Error::field(
                Code::InvalidField,
                "members",
                format!("One change may add or remove at most {MAX_MEMBER_CHANGES} members."),
            ));
        }
        let before = self.get_group(workspace, id).await?;
        if if_version.is_some_and(|v| v != group_version(&before)) {
            return Err(Error::version_mismatch());
        }
        let mut group = before.clone();
        if let Some(name) = &input.name {
            group.name = validate_group_name(name)?;
        }
        if let Some(description) = &input.description {
            group.description = validate_description(description.as_deref())?;
        }
        if let Some(external_id) = &input.external_id {
            group.external_id = external_id
                .as_deref()
                .map(crate::user::validate_external_id)
                .transpose()?;
        }
        let now = self.clock.now();
        let (adding, removing) = self.member_sets(workspace, &group, &members, now).await?;
        let fields_changed = group != before;
        if !fields_changed && adding.is_empty() && removing.is_empty() {
            return Ok(group);
        }
        // Never the same time twice, so the version moves on every change.
        group.updated_at = now.max(before.updated_at + chrono::Duration::microseconds(1));
        let mut events = Vec::new();
        if fields_changed {
            events.push(self.event(
                ctx,
                Action::GroupUpdate,
                None,
                with_group_id(
                    crate::audit::diff(&group_fields(&before), &group_fields(&group)),
                    &group.id,
                ),
            ));
        }
        let writes = self.member_writes(ctx, &group, &adding, &removing, now, &mut events);
        match self
            .write_group(&group, Some(before.updated_at), &writes, &events)
            .await
        {
            Ok(0) => Err(group_not_found()),
            Ok(_) => Ok(group),
            Err(err) if err.code == Code::ConcurrentUpdate && if_version.is_some() => {
                Err(Error::version_mismatch())
            }
            Err(err) => Err(err),
        }
    }

    /// The users to add and to remove for `changes`, each a live user of the workspace.
    async fn member_sets(
        &self,
        workspace: &Workspace,
        group: &Group,
        changes: &MemberChanges,
        now: DateTime<Utc>,
    ) -> Result<(Vec<User>, Vec<User>)> {
        let Some(wanted) = &changes.replace else {
            let adding = self.users_named(workspace, &changes.add).await?;
            let removing = self
                .users_named_leniently(workspace, &changes.remove)
                .await?;
            if adding.is_empty() && removing.is_empty() {
                return Ok((adding, removing));
            }
            // Only real changes are written and audited: adding a member or removing a
            // non-member changes nothing.
            let current: std::collections::HashSet<i64> = self
                .all_members(workspace, group, now)
                .await?
                .iter()
                .map(|u| u.key)
                .collect();
            let adding = adding
                .into_iter()
                .filter(|u| !current.contains(&u.key))
                .collect();
            let removing = removing
                .into_iter()
                .filter(|u| current.contains(&u.key))
                .collect();
            return Ok((adding, removing));
        };
        let wanted = self.users_named(workspace, wanted).await?;
        let current = self.all_members(workspace, group, now).await?;
        let wanted_keys: std::collections::HashSet<i64> = wanted.iter().map(|u| u.key).collect();
        let current_keys: std::collections::HashSet<i64> = current.iter().map(|u| u.key).collect();
        let adding = wanted
            .into_iter()
            .filter(|u| !current_keys.contains(&u.key))
            .collect();
        let removing = current
            .into_iter()
            .filter(|u| !wanted_keys.contains(&u.key))
            .collect();
        Ok((adding, removing))
    }

    /// Every current member of `group` (expired memberships left out), newest user first,
    /// read a thousand at a time.
    pub async fn group_members(&self, workspace: &Workspace, group: &Group) -> Result<Vec<User>> {
        self.all_members(workspace, group, self.clock.now()).await
    }

    async fn all_members(
        &self,
        workspace: &Workspace,
        group: &Group,
        now: DateTime<Utc>,
    ) -> Result<Vec<User>> {
        let mut members = Vec::new();
        let mut before = None;
        loop {
            let page = self
                .store
                .list_members(workspace.key, group.key, now, before, 1_000)
                .await?;
            let done = page.len() < 1_000;
            before = page.last().map(|(u, _)| u.key);
            members.extend(page.into_iter().map(|(u, _)| u));
            if done {
                return Ok(members);
            }
        }
    }

    /// The live users with these ids; an unknown id is an error naming it.
    async fn users_named(&self, workspace: &Workspace, ids: &[String]) -> Result<Vec<User>> {
        let found = self.users_named_leniently(workspace, ids).await?;
        if let Some(missing) = ids.iter().find(|id| !found.iter().any(|u| &u.id == *id)) {
            return Err(Error::field(
                Code::UserNotFound,
                "members",
                format!(
                    "No user has the id '{}'.",
                    missing.chars().take(64).collect::<String>()
                ),
            ));
        }
        Ok(found)
    }

    /// The live users with these ids; unknown ids are left out.
    async fn users_named_leniently(
        &self,
        workspace: &Workspace,
        ids: &[String],
    ) -> Result<Vec<User>> {
        let mut ids: Vec<String> = ids
            .iter()
            .filter(|id| ids::is_well_formed("usr", id))
            .cloned()
            .collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.find_users_by_ids(workspace.key, &ids).await?)
    }

    fn member_writes(
        &self,
        ctx: &AuditContext,
        group: &Group,
        adding: &[User],
        removing: &[User],
        now: DateTime<Utc>,
        events: &mut Vec<NewEvent>,
    ) -> Vec<MembershipWrite> {
        let mut writes = Vec::with_capacity(adding.len() + removing.len());
        for user in adding {
            events.push(self.event(
                ctx,
                Action::GroupMemberAdd,
                Some(user.id.clone()),
                json!({"group": {"before": null, "after": group.id}, "expires_at": {"before": null, "after": null}}),
            ));
            writes.push(MembershipWrite::Put(Membership {
                group_key: group.key,
                user_key: user.key,
                added_at: now,
                expires_at: None,
            }));
        }
        for user in removing {
            events.push(self.event(
                ctx,
                Action::GroupMemberRemove,
                Some(user.id.clone()),
                json!({"group": {"before": group.id, "after": null}}),
            ));
            writes.push(MembershipWrite::Delete { user_key: user.key });
        }
        writes
    }

    async fn write_group(
        &self,
        group: &Group,
        expected: Option<DateTime<Utc>>,
        writes: &[MembershipWrite],
        events: &[NewEvent],
    ) -> Result<i64> {
        // A stale group becomes `concurrent_update`, a taken name `group_name_taken`.
        Ok(self
            .store
            .write_group(group, expected, writes, events)
            .await?)
    }
}

//! The group operations: create, read, list, change and delete groups of a workspace, and
//! add or remove (expiring) members. What a group is lives in `group`.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit::{Action, AuditContext};
use crate::error::{Code, Error, Result};
use crate::group::{
    check_expiry, group_fields, group_not_found, Group, GroupInput, GroupPage, MemberPage,
    Membership,
};
use crate::group_members::MemberChanges;
use crate::ids;
use crate::listing::{cut_page, fingerprint, Page};
use crate::roster::Roster;
use crate::user::User;
use crate::workspace::Workspace;

impl Roster {
    pub async fn create_group(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        input: GroupInput,
    ) -> Result<Group> {
        self.create_group_with_members(workspace, ctx, input, Vec::new())
            .await
    }

    pub async fn get_group(&self, workspace: &Workspace, id: &str) -> Result<Group> {
        if !ids::is_well_formed("grp", id) {
            return Err(group_not_found());
        }
        self.store
            .find_group(workspace.key, id)
            .await?
            .ok_or_else(group_not_found)
    }

    /// A group by integer key (seed 004's plan id).
    pub async fn get_group_by_key(&self, workspace: &Workspace, key: i64) -> Result<Group> {
        self.store
            .find_group_by_key(workspace.key, key)
            .await?
            .ok_or_else(group_not_found)
    }

    /// The workspace's groups, newest first.
    pub async fn list_groups(&self, workspace: &Workspace, page: &Page) -> Result<GroupPage> {
        let print = fingerprint(&[Some("groups")]);
        let (limit, before) = page.bounds(print)?;
        let mut groups = self
            .store
            .list_groups(workspace.key, before, limit + 1)
            .await?;
        let next_cursor = cut_page(&mut groups, limit, print, |g| g.key);
        Ok(GroupPage {
            groups,
            next_cursor,
        })
    }

    pub async fn update_group(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        id: &str,
        input: GroupInput,
    ) -> Result<Group> {
        self.change_group(workspace, ctx, id, input, MemberChanges::default(), None)
            .await
    }

    /// Delete a group and all its memberships.
    pub async fn delete_group(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        id: &str,
    ) -> Result<()> {
        self.delete_group_at_version(workspace, ctx, id, None).await
    }

    /// [`Roster::delete_group`], refused with `version_mismatch` when `if_version` is given
    /// and the group is no longer at it (an HTTP `If-Match`).
    pub async fn delete_group_at_version(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        id: &str,
        if_version: Option<i64>,
    ) -> Result<()> {
        let group = self.get_group(workspace, id).await?;
        if if_version.is_some_and(|v| v != crate::group_members::group_version(&group)) {
            return Err(Error::version_mismatch());
        }
        let event = self.event(
            ctx,
            Action::GroupDelete,
            None,
            crate::audit::diff(&group_fields(&group), &Default::default()),
        );
        if self
            .store
            .delete_group(workspace.key, group.key, &event)
            .await?
        {
            Ok(())
        } else {
            Err(group_not_found())
        }
    }

    /// Put a user in a group (or change the expiry of its membership). An expiry must lie in
    /// the future.
    pub async fn add_member(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        group_id: &str,
        user_id: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(User, Membership)> {
        let now = self.clock.now();
        check_expiry("expires_at", expires_at, now)?;
        let group = self.get_group(workspace, group_id).await?;
        let user = self.get_user(workspace, user_id).await?;
        let membership = Membership {
            group_key: group.key,
            user_key: user.key,
            added_at: now,
            expires_at,
        };
        let event = self
            .event(
                ctx,
                Action::GroupMemberAdd,
                Some(user.id.clone()),
                json!({"group": {"before": null, "after": group.id}, "expires_at": {"before": null, "after": expires_at}}),
            );
        self.store
            .put_membership(workspace.key, &membership, &event)
            .await?;
        Ok((user, membership))
    }

    pub async fn remove_member(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        group_id: &str,
        user_id: &str,
    ) -> Result<()> {
        let group = self.get_group(workspace, group_id).await?;
        let user = self.get_user(workspace, user_id).await?;
        let event = self.event(
            ctx,
            Action::GroupMemberRemove,
            Some(user.id.clone()),
            json!({"group": {"before": group.id, "after": null}}),
        );
        if self
            .store
            .delete_membership(workspace.key, group.key, user.key, &event)
            .await?
        {
            Ok(())
        } else {
            Err(Error::new(
                Code::NotAMember,
                "This user is not a member of this group.",
            ))
        }
    }

    /// The group's current members (expired memberships left out), newest user first.
    pub async fn list_members(
        &self,
        workspace: &Workspace,
        group_id: &str,
        page: &Page,
    ) -> Result<MemberPage> {
        let group = self.get_group(workspace, group_id).await?;
        let print = fingerprint(&[Some("members"), Some(&group.id)]);
        let (limit, before) = page.bounds(print)?;
        let mut members = self
            .store
            .list_members(
                workspace.key,
                group.key,
                self.clock.now(),
                before,
                limit + 1,
            )
            .await?;
        let next_cursor = cut_page(&mut members, limit, print, |(u, _)| u.key);
        Ok(MemberPage {
            members,
            next_cursor,
        })
    }

    /// The groups a live user currently belongs to, by name.
    pub async fn user_groups(
        &self,
        workspace: &Workspace,
        user_id: &str,
    ) -> Result<Vec<(Group, Membership)>> {
        let user = self.get_user(workspace, user_id).await?;
        let mut found = self.groups_of_users(workspace, &[user]).await?;
        Ok(found.pop().unwrap_or_default())
    }

    /// The groups each of `users` currently belongs to, by name, in the order of `users`:
    /// one read for a whole page. A user deleted since the page was read has none (a list
    /// never fails because one of its rows went away).
    pub async fn groups_of_users(
        &self,
        workspace: &Workspace,
        users: &[User],
    ) -> Result<Vec<Vec<(Group, Membership)>>> {
        let keys: Vec<i64> = users.iter().map(|u| u.key).collect();
        let mut by_user: std::collections::HashMap<i64, Vec<(Group, Membership)>> =
            std::collections::HashMap::new();
        for (user_key, group, membership) in self
            .store
            .groups_of_users(workspace.key, &keys, self.clock.now())
            .await?
        {
            by_user
                .entry(user_key)
                .or_default()
                .push((group, membership));
        }
        Ok(keys
            .iter()
            .map(|key| by_user.remove(key).unwrap_or_default())
            .collect())
    }
}

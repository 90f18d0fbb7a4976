//! Reading, verifying and pruning the audit log.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::audit::{
    retention_before, Action, AuditContext, AuditEvent, AuditHead, AuditQuery, VerifyReport,
    LEGACY_CHECKPOINT,
};
use crate::error::{Code, Error, Result};
use crate::listing::{fingerprint, Cursor, Page, DEFAULT_LIMIT, MAX_LIMIT};
use crate::roster::Roster;
use crate::workspace::Workspace;

/// Events are purged in transactions of this many, so retention never holds a long lock.
pub const PURGE_BATCH: u32 = 500;
const VERIFY_PAGE: u32 = 1_000;
pub const MAX_RETENTION_DAYS: u32 = 3_650;

/// Filters as a surface received them (strings, unchecked).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    /// ISO 8601: RFC 3339 or a date (`2024-11-01`, midnight UTC).
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// One page of events and where the next starts.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<Cursor>,
}

/// Whether `event` is the one expected at `expected_seq` after the hash `prev`, unedited;
/// `Err` says what is wrong with it.
fn link_fits(event: &AuditEvent, expected_seq: i64, prev: &str) -> std::result::Result<(), String> {
    if event.seq != expected_seq {
        return Err(format!(
            "sequence jumps from {} to {}: events were deleted before it",
            expected_seq - 1,
            event.seq
        ));
    }
    if event.prev_hash != prev {
        return Err("does not link to the event before it".to_owned());
    }
    if event.computed_hash() != event.hash {
        return Err("its content does not match its hash: the row was edited".to_owned());
    }
    Ok(())
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_time(field: &'static str, text: &str) -> Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Some(midnight) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(midnight.and_utc());
    }
    Err(Error::field(
        Code::InvalidTime,
        field,
        format!("{field} must be an ISO 8601 time such as 2024-11-15T08:30:00Z or a date such as 2024-11-15."),
    ))
}

impl AuditFilter {
    /// The checked query for `workspace`, fetching one more than the page size.
    pub fn query(&self, workspace: &Workspace, page: &Page) -> Result<AuditQuery> {
        let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::field(
                Code::InvalidLimit,
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}."),
            ));
        }
        let action = non_empty(&self.action)
            .map(|a| Action::parse(a).map(|a| a.as_str().to_owned()))
            .transpose()?;
        let start = non_empty(&self.start_time)
            .map(|t| parse_time("start_time", t))
            .transpose()?;
        let end = non_empty(&self.end_time)
            .map(|t| parse_time("end_time", t))
            .transpose()?;
        if let (Some(start), Some(end)) = (start, end) {
            if start >= end {
                return Err(Error::field(
                    Code::InvalidTime,
                    "end_time",
                    "end_time must be after start_time.",
                ));
            }
        }
        let mut query = AuditQuery {
            workspace_key: workspace.key,
            action,
            user_id: non_empty(&self.user_id).map(str::to_owned),
            actor_id: non_empty(&self.actor_id).map(str::to_owned),
            start,
            end,
            before: None,
            limit: limit + 1,
        };
        if let Some(token) = non_empty(&page.cursor) {
            let (micros, seq) = Cursor::decode_for(token, query_fingerprint(&query))?.position();
            let at = DateTime::from_timestamp_micros(micros).ok_or_else(|| {
                Error::field(
                    Code::InvalidCursor,
                    "cursor",
                    "The cursor is not one Roster issued.",
                )
            })?;
            query.before = Some((at, seq));
        }
        Ok(query)
    }
}

fn query_fingerprint(query: &AuditQuery) -> [u8; 8] {
    let start = query.start.map(|t| t.timestamp_micros().to_string());
    let end = query.end.map(|t| t.timestamp_micros().to_string());
    fingerprint(&[
        Some("audit"),
        query.action.as_deref(),
        query.user_id.as_deref(),
        query.actor_id.as_deref(),
        start.as_deref(),
        end.as_deref(),
    ])
}

impl Roster {
    /// One page of the workspace's events, newest first.
    pub async fn list_audit_events(
        &self,
        workspace: &Workspace,
        filter: &AuditFilter,
        page: &Page,
    ) -> Result<AuditPage> {
        let query = filter.query(workspace, page)?;
        let mut events = self.store.list_audit_events(&query).await?;
        let size = usize::try_from(query.limit - 1).unwrap_or(usize::MAX);
        let next_cursor = if events.len() > size {
            events.truncate(size);
            events.last().map(|last| {
                Cursor::new(
                    (last.occurred_at.timestamp_micros(), last.seq),
                    query_fingerprint(&query),
                )
            })
        } else {
            None
        };
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }

    /// Walk the workspace's chain from its checkpoint and report the first thing that does
    /// not fit: a changed row, a deleted one, a missing tail, a missing chain, or a
    /// checkpoint that retention cannot have made.
    ///
    /// What this proves, and what it cannot: see `docs/audit.md`.
    pub async fn verify_audit_chain(&self, workspace: &Workspace) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let Some(head) = self.store.audit_head(workspace.key).await? else {
            // Every workspace is made with its `workspace.create` event, so every workspace
            // has a chain head.
            report.broken = Some((
                "(chain head)".to_owned(),
                "the workspace has no audit chain although it was created with an event: its events and chain head were deleted".to_owned(),
            ));
            return Ok(report);
        };
        let walked = self.walk_audit_chain(workspace, &head, &mut report).await?;
        if let Some(shortest_retention) = walked {
            if let Err(broken) = self.check_checkpoint(&head, shortest_retention, &mut report) {
                report.broken = Some(broken);
            }
        }
        Ok(report)
    }

    /// Check every event from the checkpoint to the head, counting them in `report`. Returns
    /// the shortest retention the workspace may have had since its checkpoint was made
    /// (today's, or what a retention change in the chain says it was before), or `None`
    /// with `report.broken` set.
    async fn walk_audit_chain(
        &self,
        workspace: &Workspace,
        head: &AuditHead,
        report: &mut VerifyReport,
    ) -> Result<Option<u32>> {
        let mut expected_seq = head.checkpoint_seq + 1;
        let mut prev = head.checkpoint_hash.clone();
        let mut shortest_retention = workspace.audit_retention_days;
        loop {
            let page = self
                .store
                .audit_chain(workspace.key, expected_seq - 1, VERIFY_PAGE)
                .await?;
            for event in &page {
                if let Err(why) = link_fits(event, expected_seq, &prev) {
                    report.broken = Some((event.id.clone(), why));
                    return Ok(None);
                }
                if let Some(before) = retention_before(event) {
                    shortest_retention = shortest_retention.min(before);
                }
                prev = event.hash.clone();
                expected_seq += 1;
                report.checked += 1;
            }
            if page.len() < VERIFY_PAGE as usize {
                break;
            }
        }
        if expected_seq - 1 != head.last_seq || prev != head.last_hash {
            let why = format!(
                "the chain ends at event {} but its head records {}: events were deleted from the end",
                expected_seq - 1,
                head.last_seq
            );
            report.broken = Some(("(end of chain)".to_owned(), why));
            return Ok(None);
        }
        Ok(Some(shortest_retention))
    }

    /// Whether the chain's start is one retention can have made: the purged event the
    /// checkpoint keeps matches it, and is older than the shortest retention allowed.
    /// `Err` names what broke and why.
    fn check_checkpoint(
        &self,
        head: &AuditHead,
        shortest_retention: u32,
        report: &mut VerifyReport,
    ) -> std::result::Result<(), (String, String)> {
        if head.checkpoint_seq == 0 {
            return Ok(());
        }
        let kept = match head.checkpoint_event.as_deref() {
            Some(LEGACY_CHECKPOINT) => {
                report.warnings.push(format!(
                    "the chain starts after event {}, purged before Roster kept purged events: that retention purged it cannot be checked",
                    head.checkpoint_seq
                ));
                return Ok(());
            }
            Some(text) => serde_json::from_str::<AuditEvent>(text).ok(),
            None => None,
        };
        let Some(kept) = kept else {
            let why = format!(
                "the chain starts after event {} but retention kept no record of purging it: the checkpoint was moved by hand",
                head.checkpoint_seq
            );
            return Err(("(checkpoint)".to_owned(), why));
        };
        if kept.seq != head.checkpoint_seq
            || kept.hash != head.checkpoint_hash
            || kept.computed_hash() != kept.hash
        {
            let why =
                "the checkpoint does not match the purged event it keeps: it was edited".to_owned();
            return Err(("(checkpoint)".to_owned(), why));
        }
        let cutoff = self.clock.now() - Duration::days(i64::from(shortest_retention));
        if kept.occurred_at >= cutoff {
            let why = format!(
                "the chain starts after event {} of {}, which a retention of {} days keeps: events were deleted from the start",
                kept.seq,
                kept.occurred_at.to_rfc3339(),
                shortest_retention
            );
            return Err((kept.id, why));
        }
        Ok(())
    }

    /// Seal the events written since the last call into their workspaces' chains (see
    /// [`AuditStore::seal_audit_events`](crate::store::AuditStore::seal_audit_events));
    /// how many.
    pub async fn seal_audit_events(&self) -> Result<u64> {
        Ok(self.store.seal_audit_events().await?)
    }

    /// Purge the workspace's events older than its retention, in small transactions.
    pub async fn purge_expired_audit_events(&self, workspace: &Workspace) -> Result<u64> {
        let cutoff = self.clock.now() - Duration::days(i64::from(workspace.audit_retention_days));
        let mut total = 0;
        loop {
            let purged = self
                .store
                .purge_audit_events(workspace.key, cutoff, PURGE_BATCH)
                .await?;
            total += purged;
            if purged < u64::from(PURGE_BATCH) {
                return Ok(total);
            }
        }
    }

    /// Change how long the workspace keeps audit events (1 to 3,650 days).
    pub async fn set_audit_retention(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        days: u32,
    ) -> Result<Workspace> {
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(Error::field(
                Code::InvalidRetention,
                "audit_retention_days",
                format!("audit_retention_days must be between 1 and {MAX_RETENTION_DAYS}."),
            ));
        }
        let changes = serde_json::json!({
            "audit_retention_days": {"before": workspace.audit_retention_days, "after": days}
        });
        let event = self.event(ctx, Action::ConfigUpdate, None, changes);
        self.store
            .set_audit_retention(workspace.key, days, &event)
            .await?;
        Ok(Workspace {
            audit_retention_days: days,
            ..workspace.clone()
        })
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
            roles: vec!["admin".into()],
            created_at: Utc::now(),
            is_operator: false,
            rate_limit_per_minute: None,
            audit_retention_days: 90,
            invitations: Default::default(),
            auth: Default::default(),
        }
    }

    #[test]
    fn filters_are_checked() {
        let page = Page::default();
        for (filter, code) in [
            (
                AuditFilter {
                    action: Some("user.explode".into()),
                    ..Default::default()
                },
                Code::UnknownAction,
            ),
            (
                AuditFilter {
                    start_time: Some("yesterday".into()),
                    ..Default::default()
                },
                Code::InvalidTime,
            ),
            (
                AuditFilter {
                    end_time: Some("2024-13-01".into()),
                    ..Default::default()
                },
                Code::InvalidTime,
            ),
            (
                AuditFilter {
                    start_time: Some("2024-11-02".into()),
                    end_time: Some("2024-11-01".into()),
                    ..Default::default()
                },
                Code::InvalidTime,
            ),
        ] {
            assert_eq!(filter.query(&workspace(), &page).unwrap_err().code, code);
        }
        let ok = AuditFilter {
            action: Some("user.delete".into()),
            start_time: Some("2024-11-01".into()),
            end_time: Some("2024-11-15T08:30:00+01:00".into()),
            ..Default::default()
        };
        let query = ok.query(&workspace(), &page).unwrap();
        assert_eq!(
            query.start.unwrap().to_rfc3339(),
            "2024-11-01T00:00:00+00:00"
        );
        assert_eq!(query.end.unwrap().to_rfc3339(), "2024-11-15T07:30:00+00:00");
    }
}

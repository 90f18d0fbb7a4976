//! The mail outbox and its delivery.

use crate::error::db_error;
use crate::PostgresStore;
use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use roster_core::outbox::Delivery;
use roster_core::outbox::Mail;
use roster_core::outbox::OutboxQuery;
use roster_core::store::OutboxStore;
use roster_core::store::StoreError;
use sqlx::{Postgres, QueryBuilder};

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn list_outbox(&self, query: &OutboxQuery) -> Result<Vec<Mail>, StoreError> {
        let rows = outbox_query(query)
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(crate::rows::mail).collect()
    }

    async fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Mail>, StoreError> {
        let rows = sqlx::query(CLAIM)
            .bind(now)
            .bind(lease_until)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(crate::rows::mail).collect()
    }

    async fn record_delivery(&self, mail_key: i64, outcome: &Delivery) -> Result<(), StoreError> {
        let query = match outcome {
            Delivery::Sent { at } => sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = $2, text = NULL, last_error = NULL,
                                   attempts = attempts + 1
                 WHERE pk = $1",
            )
            .bind(mail_key)
            .bind(*at),
            Delivery::Retry {
                error,
                next_attempt_at,
            } => sqlx::query(
                "UPDATE outbox SET last_error = $2, next_attempt_at = $3, attempts = attempts + 1
                 WHERE pk = $1",
            )
            .bind(mail_key)
            .bind(error)
            .bind(*next_attempt_at),
            Delivery::Failed { error } => sqlx::query(
                "UPDATE outbox SET status = 'failed', last_error = $2, attempts = attempts + 1
                 WHERE pk = $1",
            )
            .bind(mail_key)
            .bind(error),
        };
        query
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }
}

pub(crate) fn outbox_query(query: &OutboxQuery) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new("SELECT * FROM outbox WHERE workspace_pk = ");
    q.push_bind(query.workspace_key);
    if let Some(status) = query.status {
        q.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(before) = query.before_key {
        q.push(" AND pk < ").push_bind(before);
    }
    q.push(" ORDER BY pk DESC LIMIT ")
        .push_bind(i64::from(query.limit));
    q
}

pub(crate) const CLAIM: &str = "UPDATE outbox SET next_attempt_at = $2
    WHERE pk IN (SELECT pk FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
                 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING *";

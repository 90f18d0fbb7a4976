//! The mail outbox on SQLite.

use crate::SqliteStore;
use crate::{outbox, rows};
use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use roster_core::store::OutboxStore;

use roster_core::outbox::{Delivery, Mail, OutboxQuery};
use roster_core::store::StoreError;
use rusqlite::{params, Transaction};

use crate::error::sql_error;
use crate::rows::{micros, Sql};

pub(crate) fn list_query(query: &OutboxQuery) -> Sql {
    let mut q = Sql::new("SELECT * FROM outbox WHERE workspace_pk = ");
    q.bind(query.workspace_key);
    if let Some(status) = query.status {
        q.push(" AND status = ").bind(status.as_str().to_owned());
    }
    if let Some(before) = query.before_key {
        q.push(" AND pk < ").bind(before);
    }
    q.push(" ORDER BY pk DESC LIMIT ")
        .bind(i64::from(query.limit));
    q
}

pub(crate) const CLAIM: &str = "UPDATE outbox SET next_attempt_at = ?2
    WHERE pk IN (SELECT pk FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1
                 ORDER BY next_attempt_at LIMIT ?3)
    RETURNING *";

pub(crate) fn record(
    tx: &Transaction<'_>,
    mail_pk: i64,
    outcome: &Delivery,
) -> Result<(), StoreError> {
    match outcome {
        Delivery::Sent { at } => tx.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, text = NULL, last_error = NULL,
                               attempts = attempts + 1
             WHERE pk = ?1",
            params![mail_pk, micros(*at)],
        ),
        Delivery::Retry {
            error,
            next_attempt_at,
        } => tx.execute(
            "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, attempts = attempts + 1
             WHERE pk = ?1",
            params![mail_pk, error, micros(*next_attempt_at)],
        ),
        Delivery::Failed { error } => tx.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?2, attempts = attempts + 1
             WHERE pk = ?1",
            params![mail_pk, error],
        ),
    }
    .map(|_| ())
    .map_err(sql_error)
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn list_outbox(&self, query: &OutboxQuery) -> Result<Vec<Mail>, StoreError> {
        let query = outbox::list_query(query);
        self.reader.rows(
            &query.text,
            rusqlite::params_from_iter(query.params),
            rows::mail,
        )
    }

    async fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Mail>, StoreError> {
        self.writer
            .write(move |tx| {
                let mut claim = tx.prepare_cached(outbox::CLAIM).map_err(sql_error)?;
                let mut rows = claim
                    .query(params![
                        rows::micros(now),
                        rows::micros(lease_until),
                        i64::from(limit)
                    ])
                    .map_err(sql_error)?;
                let mut mails = Vec::new();
                while let Some(row) = rows.next().map_err(sql_error)? {
                    mails.push(rows::mail(row)?);
                }
                Ok(mails)
            })
            .await
    }

    async fn record_delivery(&self, mail_key: i64, outcome: &Delivery) -> Result<(), StoreError> {
        let outcome = outcome.clone();
        self.writer
            .write(move |tx| outbox::record(tx, mail_key, &outcome))
            .await
    }
}

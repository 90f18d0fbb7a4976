//! The mail outbox (`OutboxStore`).

use std::sync::Arc;

use chrono::Duration;
use roster_core::outbox::{Delivery, MailStatus, OutboxQuery};
use roster_core::plan::UserSideEffects;
use roster_core::Store;

use crate::fixtures::*;

pub async fn outbox_mail_is_claimed_once_and_retried(store: Arc<dyn Store>) {
    let ws = add_workspace(&store, "acme").await;
    for n in 1..=3 {
        let mut u = user(&ws, n, "U", &format!("u{n}@example.com"));
        let effects = UserSideEffects {
            mail: Some(mail(
                &format!("mail_{n}"),
                ws.key,
                t0() + Duration::seconds(i64::from(n)),
            )),
            ..UserSideEffects::default()
        };
        u.key = store.insert_user(&u, &ev(), &plan(&effects)).await.unwrap();
    }
    let now = t0() + Duration::seconds(2);
    let lease = now + Duration::minutes(5);
    let claimed = store.claim_due_mail(now, lease, 10).await.unwrap();
    let mut ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["mail_1", "mail_2"], "only due mail");
    assert!(
        store
            .claim_due_mail(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    let mut claimed = claimed;
    claimed.sort_by_key(|m| m.id.clone());
    store
        .record_delivery(claimed[0].key, &Delivery::Sent { at: now })
        .await
        .unwrap();
    let retry_at = now + Duration::seconds(30);
    store
        .record_delivery(
            claimed[1].key,
            &Delivery::Retry {
                error: "451 later".into(),
                next_attempt_at: retry_at,
            },
        )
        .await
        .unwrap();
    let mails = store.list_outbox(&outbox(ws.key)).await.unwrap();
    let by_id = |id: &str| mails.iter().find(|m| m.id == id).unwrap().clone();
    let sent = by_id("mail_1");
    assert_eq!(
        (
            sent.status,
            sent.text.as_deref(),
            sent.attempts,
            sent.sent_at
        ),
        (MailStatus::Sent, None, 1, Some(now))
    );
    let retried = by_id("mail_2");
    assert_eq!(
        (retried.status, retried.attempts, retried.next_attempt_at),
        (MailStatus::Pending, 1, retry_at)
    );
    assert_eq!(retried.last_error.as_deref(), Some("451 later"));

    a_failure_is_final(&store, ws.key, retry_at).await;
    let page = OutboxQuery {
        before_key: Some(mails[0].key),
        limit: 1,
        ..outbox(ws.key)
    };
    let page = store.list_outbox(&page).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].key, mails[1].key, "newest first after the cursor");
}

/// At the retry time the retried mail and the next are due; a permanent failure is final.
async fn a_failure_is_final(
    store: &Arc<dyn Store>,
    ws_key: i64,
    retry_at: chrono::DateTime<chrono::Utc>,
) {
    let claimed = store
        .claim_due_mail(retry_at, retry_at + Duration::minutes(5), 10)
        .await
        .unwrap();
    let mut claimed = claimed;
    claimed.sort_by_key(|m| m.id.clone());
    let ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["mail_2", "mail_3"]);
    store
        .record_delivery(
            claimed[0].key,
            &Delivery::Failed {
                error: "550 no".into(),
            },
        )
        .await
        .unwrap();

    let failed = OutboxQuery {
        status: Some(MailStatus::Failed),
        ..outbox(ws_key)
    };
    let failed = store.list_outbox(&failed).await.unwrap();
    assert_eq!((failed.len(), failed[0].attempts), (1, 2));
}

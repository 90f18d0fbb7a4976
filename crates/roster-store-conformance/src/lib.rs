//! The store conformance suite: one set of cases every [`Store`] backend must pass
//! unchanged. A backend's test file calls [`suite!`] with a function that makes a fresh,
//! migrated store (or `None` to skip, printing why).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test suite: a failed expectation is a failed test"
)]

pub mod cases;
pub mod lifecycle_cases;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use roster_core::Store;

/// A fresh store for one case, and what to do when the case is over.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    cleanup: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Fixture {
    pub fn new(store: Arc<dyn Store>, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            store,
            cleanup: Box::pin(cleanup),
        }
    }

    pub async fn cleanup(self) {
        self.cleanup.await;
    }
}

/// Expand to one `#[tokio::test]` per conformance case, each on a fresh store from `$fresh`
/// (an async fn returning `Option<Fixture>`).
#[macro_export]
macro_rules! suite {
    ($fresh:path) => {
        $crate::suite!(@cases $fresh;
            migrate_is_idempotent,
            bootstrap_happens_once,
            workspaces_are_found_by_id_or_name,
            workspace_names_are_unique,
            api_keys_are_found_by_hash_only,
            users_round_trip,
            sessions_limits_out_of_range_are_refused,
            emails_are_unique_per_workspace_among_live_users,
            external_ids_stay_taken_after_delete,
            updates_are_conditional_on_version,
            lists_are_newest_first_and_paginate,
            lists_filter_by_role_status_and_email,
            search_matches_substrings_of_name_or_email,
            search_follows_renames,
            lists_hide_deleted_users,
            workspaces_are_isolated,
            concurrent_writes_all_succeed,
            workspace_settings_round_trip,
            keys_are_listed_touched_and_revoked,
            clients_are_found_updated_and_revoked,
            signing_keys_rotate,
            changes_and_events_commit_together,
            sealed_events_verify_whatever_their_fields,
            concurrent_failures_fail_alone,
            import_batches_are_all_or_nothing,
            audit_events_filter_and_paginate,
            purging_keeps_the_rest_of_the_chain_verifiable
        );
        $crate::suite!(@lifecycle $fresh;
            invitations_are_single_use_and_replaced,
            imports_issue_invitations_with_their_users,
            users_join_groups_in_their_own_write,
            groups_hold_members_until_they_expire,
            purging_erases_the_user_and_what_names_it,
            outbox_mail_is_claimed_once_and_retried,
            roles_in_use_cannot_be_removed,
            sessions_start_race_and_end
        );
    };
    (@lifecycle $fresh:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture) = $fresh().await else { return };
                $crate::lifecycle_cases::$case(fixture.store.clone()).await;
                fixture.cleanup().await;
            }
        )*
    };
    (@cases $fresh:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture) = $fresh().await else { return };
                $crate::cases::$case(fixture.store.clone()).await;
                fixture.cleanup().await;
            }
        )*
    };
}

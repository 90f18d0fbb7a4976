//! The store conformance suite: one set of cases every [`Store`] backend must pass
//! unchanged. A backend's test file calls [`suite!`] with a function that makes a fresh,
//! migrated store (or `None` to skip, printing why).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test suite: a failed expectation is a failed test"
)]

pub mod audit;
pub mod credentials;
mod fixtures;
pub mod groups;
pub mod outbox;
pub mod sessions;
pub mod user_lists;
pub mod user_queries;
pub mod user_search;
pub mod users;
pub mod workspaces;

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
/// (an async fn returning `Option<Fixture>`), role by role.
#[macro_export]
macro_rules! suite {
    ($fresh:path) => {
        $crate::suite!(@role workspaces $fresh;
            migrate_is_idempotent,
            bootstrap_happens_once,
            workspaces_are_found_by_id_or_name,
            workspace_names_are_unique,
            workspace_settings_round_trip,
            workspaces_are_isolated,
            roles_in_use_cannot_be_removed,
            audit_retention_and_auth_settings_round_trip,
            console_setup_tokens_are_claimed_once,
        );
        $crate::suite!(@role credentials $fresh;
            api_keys_are_found_by_hash_only,
            keys_are_listed_touched_and_revoked,
            clients_are_found_updated_and_revoked,
            signing_keys_rotate,
        );
        $crate::suite!(@role users $fresh;
            users_round_trip,
            sessions_limits_out_of_range_are_refused,
            emails_are_unique_per_workspace_among_live_users,
            external_ids_stay_taken_after_delete,
            updates_are_conditional_on_version,
            concurrent_writes_all_succeed,
            concurrent_failures_fail_alone,
            import_batches_are_all_or_nothing,
            imports_issue_invitations_with_their_users,
            invitations_are_single_use_and_replaced,
            purging_erases_the_user_and_what_names_it,
            users_are_found_by_uuid_key_and_external_id,
            user_names_are_unique_per_workspace_whatever_their_case,
        );
        $crate::suite!(@role user_lists $fresh;
            lists_are_newest_first_and_paginate,
            lists_filter_by_role_status_and_email,
            search_matches_substrings_of_name_or_email,
            search_follows_renames,
            lists_hide_deleted_users,
            numbered_pages_skip_the_users_before_them,
        );
        $crate::suite!(@role user_search $fresh;
            search_returns_exactly_the_users_holding_the_substring,
            search_index_upkeep_ends_and_searches_answer_the_same,
            statistics_refresh_changes_no_answer,
        );
        $crate::suite!(@role user_queries $fresh;
            queries_compare_each_field_as_scim_does,
            a_user_without_email_holds_no_email_substring,
            queries_sort_and_page_by_position_and_by_keyset,
            users_are_found_by_many_ids_within_their_workspace,
            the_count_of_live_users_follows_every_write,
        );
        $crate::suite!(@role groups $fresh;
            users_join_groups_in_their_own_write,
            groups_hold_members_until_they_expire,
            groups_are_found_by_key_within_their_workspace,
            groups_change_many_members_in_one_conditional_write,
        );
        $crate::suite!(@role sessions $fresh;
            sessions_start_race_and_end,
            sign_in_finds_live_users_by_email_key_or_external_id,
        );
        $crate::suite!(@role audit $fresh;
            changes_and_events_commit_together,
            sealed_events_verify_whatever_their_fields,
            audit_events_filter_and_paginate,
            purging_keeps_the_rest_of_the_chain_verifiable,
            events_without_a_change_join_the_chain,
            writers_side_by_side_make_one_chain,
            filtered_reads_see_the_events_written_before_them,
        );
        $crate::suite!(@role outbox $fresh;
            outbox_mail_is_claimed_once_and_retried,
        );
    };
    (@role $role:ident $fresh:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture) = $fresh().await else { return };
                $crate::$role::$case(fixture.store.clone()).await;
                fixture.cleanup().await;
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The Rust files in `dir`, with their text.
    fn read_all(dir: &Path) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap();
                (path.display().to_string(), text)
            })
            .collect();
        files.sort();
        files
    }

    /// Every method of the store's role traits is called by some case of this suite, so
    /// each backend's implementation of it runs against the same expectations.
    #[test]
    fn every_store_method_has_a_case() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let traits = read_all(&root.join("../roster-core/src/store"));
        let suite: String = read_all(&root.join("src"))
            .into_iter()
            .map(|(_, text)| text)
            .collect();
        let mut methods = Vec::new();
        for (_, text) in &traits {
            for line in text.lines() {
                if let Some(rest) = line.trim_start().strip_prefix("async fn ") {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    methods.push(name);
                }
            }
        }
        assert!(methods.len() > 50, "found only {methods:?}");
        let uncalled: Vec<&String> = methods
            .iter()
            .filter(|name| !suite.contains(&format!(".{name}(")))
            .collect();
        assert!(uncalled.is_empty(), "no case calls {uncalled:?}");
    }
}

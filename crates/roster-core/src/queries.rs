//! The query operation: users by condition, one page and the total (SCIM's lists); and the
//! upkeep of what queries rely on: the index searches use, the planner's statistics.

use crate::error::Result;
use crate::query::{QueryPage, QueryRequest, UserQuery};
use crate::workspace::Workspace;

impl crate::roster::Roster {
    /// One step of the search index's background upkeep (see
    /// [`UserStore::tidy_search_index`](crate::store::UserStore::tidy_search_index)): `true`
    /// when another step is due now.
    pub async fn tidy_search_index(&self) -> Result<bool> {
        Ok(self.store.tidy_search_index().await?)
    }

    /// Gather the query planner's statistics of the tables that changed much (see
    /// [`Store::refresh_statistics`](crate::store::Store::refresh_statistics)); the tables
    /// done.
    pub async fn refresh_statistics(&self) -> Result<Vec<String>> {
        Ok(self.store.refresh_statistics().await?)
    }

    /// One page of the live users matching `request`, with the total that match.
    pub async fn query_users(
        &self,
        workspace: &Workspace,
        request: QueryRequest,
    ) -> Result<QueryPage> {
        let walking = request.cursor.is_some();
        let query = UserQuery::build(workspace, request)?;
        let mut users = if query.limit > 1 {
            self.store.query_users(&query).await?
        } else {
            Vec::new()
        };
        // A page that ends the matches from a known position tells the total itself (every
        // selective filter's first page does); only the rest count, which costs a walk of
        // every match.
        let ends_the_matches = users.len() < query.page_size() + 1 && query.limit > 1;
        let total = match (ends_the_matches, query.after.is_none()) {
            (true, true) if query.offset == 0 || !users.is_empty() => {
                query.offset + users.len() as u64
            }
            _ => self.store.count_users(&query).await?,
        };
        let mut next_cursor = None;
        if users.len() > query.page_size() {
            users.truncate(query.page_size());
            if walking {
                next_cursor = users.last().map(|last| query.cursor_after(last));
            }
        }
        Ok(QueryPage {
            users,
            total,
            next_cursor,
        })
    }
}

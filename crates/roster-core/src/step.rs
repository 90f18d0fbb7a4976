//! What one change of a user decides: which users it may find, and what it did to the one
//! it was given. The core's write loop (`Roster::change_user`) runs a step and writes its
//! decision in one transaction.

use serde_json::Value;

use crate::audit::Action;
use crate::plan::UserSideEffects;

/// Which users a step may find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Users not soft-deleted; a deleted one is not found.
    Live,
    /// Soft-deleted users too.
    AnyState,
}

/// What a step decided for the user it was given (already changed in place).
pub(crate) enum Step {
    Unchanged,
    Changed {
        action: Action,
        effects: Box<UserSideEffects>,
        /// Recorded in the event beside the user's changed fields.
        more_changes: Vec<(&'static str, Value)>,
    },
}

impl Step {
    pub(crate) fn changed(action: Action) -> Self {
        Self::with_effects(action, UserSideEffects::default())
    }

    pub(crate) fn with_effects(action: Action, effects: UserSideEffects) -> Self {
        Self::Changed {
            action,
            effects: Box::new(effects),
            more_changes: Vec::new(),
        }
    }
}

//! The ledger in and out of a checkpoint (`crate::checkpoint`).

use super::Ledger;
use crate::checkpoint::{CheckpointError, decode, encode};
use crate::names::NameRules;
use std::sync::Arc;

impl Ledger {
    /// The ledger as checkpoint bytes. Taken between batches (an open
    /// batch's undo log is not written).
    pub fn checkpoint(&self) -> Result<Vec<u8>, CheckpointError> {
        encode(self)
    }

    /// The ledger a checkpoint holds, resolving names with `rules` (the
    /// configuration's, which a checkpoint never carries).
    pub fn from_checkpoint(bytes: &[u8], rules: NameRules) -> Result<Ledger, CheckpointError> {
        let mut ledger: Ledger = decode(bytes)?;
        ledger.rules = rules;
        ledger.restore();
        Ok(ledger)
    }

    /// Builds what a checkpoint leaves out, and shares again the names
    /// that serde wrote once per use (a restored ledger takes the memory
    /// a replayed one does).
    fn restore(&mut self) {
        self.call_name_ids = self
            .call_names
            .iter()
            .enumerate()
            .filter_map(|(id, name)| Some((name.clone(), u32::try_from(id).ok()?)))
            .collect();
        let names = &self.names;
        let share = |name: &mut Arc<str>| {
            if let Some(shared) = names.get(&**name) {
                *name = shared.clone();
            }
        };
        for ticket in self.tickets.values_mut() {
            share(&mut ticket.site);
            share(&mut ticket.department);
            share(&mut ticket.application);
            if let Some(assignee) = ticket.assignee.as_mut() {
                share(assignee);
            }
            if let Some(known_issue) = ticket.known_issue.as_mut() {
                share(known_issue);
            }
            if let Some(external) = ticket.external_id.as_mut()
                && let Some((key, _)) = self.external_ids.get_key_value(&**external)
            {
                *external = key.clone();
            }
        }
    }
}

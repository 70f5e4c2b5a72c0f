//! The tickets open right now, ordered by when they opened, and each
//! ticket's support tier: what the huddle questions need (how old is the
//! backlog, what waits on tier 2 and 3, where are the severity-1 tickets)
//! without walking the whole history.
//!
//! "Open" here is the ticket's latest status (every fact applied, like the
//! running backlog totals), so the set holds exactly the tickets the
//! running backlog counts. For a moment in the past (a board `as_of`),
//! the set is corrected by the status changes dated at or after it: a
//! ticket whose first such change closed it was open then, one whose first
//! such change reopened it was not. Tiers, severities and sites are the
//! tickets' current ones.

use super::intern::FastState;
use super::timeline::change;
use super::{Aggregator, Ticket};
use crate::model::TicketDimension;
use crate::time::Millis;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const HOUR_MS: Millis = 3_600_000;

/// Active tickets by (opened_at, index), and every ticket's tier.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct OpenTickets {
    by_opened: BTreeSet<(Millis, u32)>,
    /// Indexed by ticket; 0 when no tier was ever given.
    tiers: Vec<u8>,
}

impl OpenTickets {
    /// A ticket was created (`active`: its first status is active).
    pub(super) fn created(&mut self, index: u32, opened_at: Millis, active: bool, tier: u8) {
        if active {
            self.by_opened.insert((opened_at, index));
        }
        let slot = index as usize;
        if self.tiers.len() <= slot {
            self.tiers.resize(slot + 1, 0);
        }
        self.tiers[slot] = tier;
    }

    /// A ticket's status moved between active and done.
    pub(super) fn status(&mut self, index: u32, opened_at: Millis, active: bool) {
        if active {
            self.by_opened.insert((opened_at, index));
        } else {
            self.by_opened.remove(&(opened_at, index));
        }
    }

    pub(super) fn tier(&mut self, index: u32, tier: u8) {
        if let Some(slot) = self.tiers.get_mut(index as usize) {
            *slot = tier;
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        // A B-tree node per ~11 entries; count an entry as twice its size.
        self.by_opened.len() * 2 * size_of::<(Millis, u32)>() + self.tiers.capacity()
    }
}

/// How long the open tickets have been waiting.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Aging {
    /// Open tickets opened more than an hour ago.
    pub over_1h: u64,
    /// … more than four hours ago.
    pub over_4h: u64,
    /// … more than a day ago.
    pub over_24h: u64,
    /// When the oldest open ticket opened (RFC 3339); null with none open.
    #[serde(serialize_with = "crate::time::rfc3339::option::serialize")]
    pub oldest_opened_at: Option<Millis>,
}

/// What waits on the second and third support tiers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Escalations {
    /// Open tickets whose tier is 2.
    pub tier_2: u64,
    /// Open tickets whose tier is 3.
    pub tier_3: u64,
    /// Open tickets whose status is `escalated` (whatever their tier).
    pub status_escalated: u64,
    /// When the oldest open tier-2/3 ticket opened; null with none.
    #[serde(serialize_with = "crate::time::rfc3339::option::serialize")]
    pub oldest_opened_at: Option<Millis>,
}

/// Open severity-1 tickets of one site and application.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sev1Group {
    pub site: String,
    pub application: String,
    pub open: u64,
    /// When the oldest of them opened (RFC 3339).
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub since: Millis,
}

/// The open-ticket figures of the board, for one scope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpenSummary {
    pub aging: Aging,
    pub escalations: Escalations,
    /// By site, then application.
    pub sev1: Vec<Sev1Group>,
}

impl Aggregator {
    /// Aging, escalations and severity-1 groups of the tickets open now
    /// and opened at or before `now`, those of `site` only when given (an
    /// unknown site has none).
    pub fn open_summary(&self, now: Millis, site: Option<&str>) -> OpenSummary {
        let mut summary = OpenSummary::default();
        let wanted = match site {
            Some(name) => match self.group_of_value(TicketDimension::Site, name) {
                Some(group) => Some(group),
                None => return summary,
            },
            None => None,
        };
        let mut sev1: BTreeMap<(u32, u32), (u64, Millis)> = BTreeMap::new();
        for (opened_at, index) in self.open_at(now) {
            let ticket: &Ticket = &self.tickets[index as usize];
            if wanted.is_some_and(|group| ticket.site as usize != group) {
                continue;
            }
            let age = now - opened_at;
            summary.aging.over_1h += u64::from(age > HOUR_MS);
            summary.aging.over_4h += u64::from(age > 4 * HOUR_MS);
            summary.aging.over_24h += u64::from(age > 24 * HOUR_MS);
            summary.aging.oldest_opened_at.get_or_insert(opened_at);
            let tier = self.open.tiers.get(index as usize).copied().unwrap_or(0);
            let escalations = &mut summary.escalations;
            escalations.tier_2 += u64::from(tier == 2);
            escalations.tier_3 += u64::from(tier == 3);
            escalations.status_escalated +=
                u64::from(ticket.status == crate::model::TicketStatus::Escalated);
            if tier >= 2 {
                escalations.oldest_opened_at.get_or_insert(opened_at);
            }
            if ticket.severity == 0 {
                let entry = sev1
                    .entry((ticket.site, ticket.application))
                    .or_insert((0, opened_at));
                entry.0 += 1;
            }
        }
        summary.sev1 = sev1
            .into_iter()
            .map(|((site, application), (open, since))| Sev1Group {
                site: self.sites.name(site as usize).to_owned(),
                application: self.applications.name(application as usize).to_owned(),
                open,
                since,
            })
            .collect();
        summary
            .sev1
            .sort_by(|a, b| (&a.site, &a.application).cmp(&(&b.site, &b.application)));
        summary
    }

    /// The tickets active at `now` and opened at or before it, by opening
    /// time: the open set, corrected by the changes dated at or after
    /// `now` (none for the live board).
    pub(super) fn open_at(&self, now: Millis) -> Vec<(Millis, u32)> {
        // Each ticket's first status flip at or after `now`: true when it
        // closed the ticket (so it was open at `now`).
        let mut first: HashMap<u32, bool, FastState> = HashMap::default();
        for (start, bucket) in self.timeline.since(now) {
            for fact in &bucket.changes {
                let delta = change::backlog_delta(fact.kind);
                if delta != 0 && fact.at(start) >= now {
                    first.entry(fact.ticket).or_insert(delta < 0);
                }
            }
        }
        let mut open: Vec<(Millis, u32)> = self
            .open
            .by_opened
            .iter()
            .take_while(|(opened_at, _)| *opened_at <= now)
            .filter(|(_, index)| !first.contains_key(index))
            .copied()
            .collect();
        if !first.is_empty() {
            for (index, closed_later) in first {
                let opened_at = self.tickets[index as usize].opened_at;
                if closed_later && opened_at <= now {
                    open.push((opened_at, index));
                }
            }
            open.sort_unstable();
        }
        open
    }

    /// Active tickets of `site` as of its latest status, for a backlog
    /// counted from the open set (see `fill_backlog`).
    pub(super) fn open_indexes(&self) -> impl Iterator<Item = u32> + '_ {
        self.open.by_opened.iter().map(|&(_, index)| index)
    }
}

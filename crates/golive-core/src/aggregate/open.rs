//! The tickets open right now, filed by when they opened, for the huddle
//! questions (how old is the backlog, what waits on tier 2 and 3, where
//! are the severity-1 tickets) at a cost that does not grow with history.
//!
//! Every active ticket is filed, for the whole center and for its site, in
//! ordered sets keyed by (opened_at, index): all open, tier 2, tier 3,
//! tier 2 or above, status `escalated`, and severity 1 by (site,
//! application). A count is a set's length less the entries opened after
//! the moment asked; the aging thresholds walk only the last day's
//! entries; the oldest is a set's first entry. The aggregator refiles a
//! ticket whenever anything it is filed by changes (status, tier, site,
//! application, severity), so a figure never needs a walk of the open
//! tickets.
//!
//! "Open" here is the ticket's latest status (every fact applied, like the
//! running backlog totals), so the sets hold exactly the tickets the
//! running backlog counts. For a moment in the past (a board `as_of`), the
//! figures are corrected by the status changes dated at or after it: a
//! ticket whose first such change closed it was open then, one whose first
//! such change reopened it was not. Tiers, severities and sites are the
//! tickets' current ones.

use super::intern::FastState;
use super::timeline::change;
use super::{Aggregator, Ticket};
use crate::model::{TicketDimension, TicketStatus};
use crate::time::Millis;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

const HOUR_MS: Millis = 3_600_000;

/// Open tickets by (opened_at, index).
type Entries = BTreeSet<(Millis, u32)>;

/// What an active ticket is filed under: the attributes the open figures
/// read, as they were when it was last filed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Filed {
    opened_at: Millis,
    site: u32,
    application: u32,
    tier: u8,
    sev1: bool,
    escalated: bool,
}

impl Filed {
    /// Ticket `ticket` with support tier `tier`, as filed.
    fn of(ticket: &Ticket, tier: u8) -> Filed {
        Filed {
            opened_at: ticket.opened_at,
            site: ticket.site,
            application: ticket.application,
            tier,
            sev1: ticket.severity == 0,
            escalated: ticket.status == TicketStatus::Escalated,
        }
    }
}

/// The open sets of one scope (the whole center, or one site).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct OpenGroup {
    open: Entries,
    tier_2: Entries,
    tier_3: Entries,
    /// Tier 2 or above: where the oldest escalation is.
    upper_tiers: Entries,
    escalated: Entries,
    /// By (site, application); a place with none open has no entry.
    sev1: BTreeMap<(u32, u32), Entries>,
}

impl OpenGroup {
    /// Files (`add`) or unfiles ticket `index` under `filed`.
    fn file(&mut self, index: u32, filed: &Filed, add: bool) {
        let key = (filed.opened_at, index);
        let edit = |set: &mut Entries| {
            if add {
                set.insert(key);
            } else {
                set.remove(&key);
            }
        };
        edit(&mut self.open);
        if filed.tier == 2 {
            edit(&mut self.tier_2);
        }
        if filed.tier == 3 {
            edit(&mut self.tier_3);
        }
        if filed.tier >= 2 {
            edit(&mut self.upper_tiers);
        }
        if filed.escalated {
            edit(&mut self.escalated);
        }
        if filed.sev1 {
            let place = (filed.site, filed.application);
            if add {
                self.sev1.entry(place).or_default().insert(key);
            } else if let Some(set) = self.sev1.get_mut(&place) {
                set.remove(&key);
                if set.is_empty() {
                    self.sev1.remove(&place);
                }
            }
        }
    }
}

/// The active tickets, filed for the center and per site, and every
/// ticket's tier.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct OpenTickets {
    all: OpenGroup,
    /// By site id.
    by_site: Vec<OpenGroup>,
    /// By ticket index: what it is filed under, `None` when not active.
    filed: Vec<Option<Filed>>,
    /// By ticket index; 0 when no tier was ever given.
    tiers: Vec<u8>,
}

impl OpenTickets {
    /// Ticket `index`'s support tier from now on.
    pub(super) fn set_tier(&mut self, index: u32, tier: u8) {
        let slot = index as usize;
        if self.tiers.len() <= slot {
            self.tiers.resize(slot + 1, 0);
        }
        self.tiers[slot] = tier;
    }

    fn tier(&self, index: u32) -> u8 {
        self.tiers.get(index as usize).copied().unwrap_or(0)
    }

    /// Files ticket `index` as it stands now (`ticket`), moving it out of
    /// wherever it was filed before; unfiles it when it is not active.
    pub(super) fn refile(&mut self, index: u32, ticket: &Ticket) {
        let now = ticket
            .status
            .is_active()
            .then(|| Filed::of(ticket, self.tier(index)));
        let slot = index as usize;
        if self.filed.len() <= slot {
            self.filed.resize(slot + 1, None);
        }
        let before = self.filed[slot];
        if before == now {
            return;
        }
        if let Some(old) = before {
            self.all.file(index, &old, false);
            if let Some(group) = self.by_site.get_mut(old.site as usize) {
                group.file(index, &old, false);
            }
        }
        if let Some(new) = now {
            self.all.file(index, &new, true);
            let site = new.site as usize;
            if self.by_site.len() <= site {
                self.by_site.resize_with(site + 1, OpenGroup::default);
            }
            self.by_site[site].file(index, &new, true);
        }
        self.filed[slot] = now;
    }

    /// The active tickets, by opening time.
    pub(super) fn indexes(&self) -> impl Iterator<Item = u32> + '_ {
        self.all.open.iter().map(|&(_, index)| index)
    }

    pub(super) fn heap_bytes(&self) -> usize {
        // A B-tree node per ~11 entries; count an entry as twice its size.
        let entry = 2 * size_of::<(Millis, u32)>();
        let group = |g: &OpenGroup| {
            (g.open.len()
                + g.tier_2.len()
                + g.tier_3.len()
                + g.upper_tiers.len()
                + g.escalated.len()
                + g.sev1.values().map(BTreeSet::len).sum::<usize>())
                * entry
        };
        group(&self.all)
            + self.by_site.iter().map(group).sum::<usize>()
            + self.filed.capacity() * size_of::<Option<Filed>>()
            + self.tiers.capacity()
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

/// Counts as signed sums while corrections are applied.
#[derive(Default)]
struct Counts {
    over_1h: i64,
    over_4h: i64,
    over_24h: i64,
    tier_2: i64,
    tier_3: i64,
    escalated: i64,
    sev1: BTreeMap<(u32, u32), i64>,
}

impl Counts {
    /// Adds `sign` × what a ticket filed as `filed` counts for at `now`.
    fn add(&mut self, filed: &Filed, now: Millis, sign: i64) {
        let age = now - filed.opened_at;
        self.over_1h += sign * i64::from(age > HOUR_MS);
        self.over_4h += sign * i64::from(age > 4 * HOUR_MS);
        self.over_24h += sign * i64::from(age > 24 * HOUR_MS);
        self.tier_2 += sign * i64::from(filed.tier == 2);
        self.tier_3 += sign * i64::from(filed.tier == 3);
        self.escalated += sign * i64::from(filed.escalated);
        if filed.sev1 {
            *self
                .sev1
                .entry((filed.site, filed.application))
                .or_default() += sign;
        }
    }
}

/// Entries of `set` opened at or before `now`.
fn count_until(set: &Entries, now: Millis) -> i64 {
    let later = set
        .range((Bound::Excluded((now, u32::MAX)), Bound::Unbounded))
        .count();
    i64::try_from(set.len() - later).unwrap_or(i64::MAX)
}

/// The earliest opening in `set` at or before `now` of a ticket not in
/// `skip`.
fn first_until(set: &Entries, now: Millis, skip: &HashMap<u32, bool, FastState>) -> Option<Millis> {
    set.iter()
        .take_while(|(opened_at, _)| *opened_at <= now)
        .find(|(_, index)| !skip.contains_key(index))
        .map(|&(opened_at, _)| opened_at)
}

fn earliest(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn unsigned(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

impl Aggregator {
    /// Aging, escalations and severity-1 groups of the tickets open now
    /// and opened at or before `now`, those of `site` only when given (an
    /// unknown site has none).
    pub fn open_summary(&self, now: Millis, site: Option<&str>) -> OpenSummary {
        let (group, wanted) = match site {
            None => (&self.open.all, None),
            Some(name) => {
                let Some(id) = self.group_of_value(TicketDimension::Site, name) else {
                    return OpenSummary::default();
                };
                let Some(group) = self.open.by_site.get(id) else {
                    return OpenSummary::default();
                };
                (group, u32::try_from(id).ok())
            }
        };
        let in_scope = |site: u32| wanted.is_none_or(|id| id == site);

        // From the sets: the entries opened by `now`, the aging thresholds
        // from the last day's entries only.
        let mut counts = Counts::default();
        let open = count_until(&group.open, now);
        let mut within = [0i64; 3];
        let day_ago = (now.saturating_sub(24 * HOUR_MS), 0);
        for &(opened_at, _) in group
            .open
            .range((Bound::Included(day_ago), Bound::Included((now, u32::MAX))))
        {
            let age = now - opened_at;
            within[0] += i64::from(age <= HOUR_MS);
            within[1] += i64::from(age <= 4 * HOUR_MS);
            within[2] += i64::from(age <= 24 * HOUR_MS);
        }
        counts.over_1h = open - within[0];
        counts.over_4h = open - within[1];
        counts.over_24h = open - within[2];
        counts.tier_2 = count_until(&group.tier_2, now);
        counts.tier_3 = count_until(&group.tier_3, now);
        counts.escalated = count_until(&group.escalated, now);
        for (&place, set) in &group.sev1 {
            counts.sev1.insert(place, count_until(set, now));
        }

        // Corrected by the status changes dated at or after `now` (none
        // for the live board): a ticket filed now but not open then is
        // taken out, one open then but not filed now is put back.
        let flips = self.first_flips(now);
        let mut put_back: Vec<Filed> = Vec::new();
        for (&index, &closed_later) in &flips {
            if let Some(filed) = self.open.filed.get(index as usize).copied().flatten()
                && filed.opened_at <= now
                && in_scope(filed.site)
            {
                counts.add(&filed, now, -1);
            }
            let ticket = &self.tickets[index as usize];
            if closed_later && ticket.opened_at <= now && in_scope(ticket.site) {
                let filed = Filed::of(ticket, self.open.tier(index));
                counts.add(&filed, now, 1);
                put_back.push(filed);
            }
        }
        // The earliest opening among a set's entries still counted and the
        // tickets put back that `keep` accepts.
        let oldest = |set: Option<&Entries>, keep: &dyn Fn(&Filed) -> bool| {
            let back = put_back
                .iter()
                .filter(|filed| keep(filed))
                .map(|filed| filed.opened_at)
                .min();
            earliest(set.and_then(|set| first_until(set, now, &flips)), back)
        };

        let aging = Aging {
            over_1h: unsigned(counts.over_1h),
            over_4h: unsigned(counts.over_4h),
            over_24h: unsigned(counts.over_24h),
            oldest_opened_at: oldest(Some(&group.open), &|_| true),
        };
        let escalations = Escalations {
            tier_2: unsigned(counts.tier_2),
            tier_3: unsigned(counts.tier_3),
            status_escalated: unsigned(counts.escalated),
            oldest_opened_at: oldest(Some(&group.upper_tiers), &|filed| filed.tier >= 2),
        };
        let mut sev1: Vec<Sev1Group> = counts
            .sev1
            .iter()
            .filter(|(_, count)| **count > 0)
            .filter_map(|(&(site, application), &count)| {
                let since = oldest(group.sev1.get(&(site, application)), &|filed| {
                    filed.sev1 && filed.site == site && filed.application == application
                });
                Some(Sev1Group {
                    site: self.sites.name(site as usize).to_owned(),
                    application: self.applications.name(application as usize).to_owned(),
                    open: unsigned(count),
                    since: since?,
                })
            })
            .collect();
        sev1.sort_by(|a, b| (&a.site, &a.application).cmp(&(&b.site, &b.application)));
        OpenSummary {
            aging,
            escalations,
            sev1,
        }
    }

    /// Each ticket's first status flip between active and done dated at
    /// or after `now`: true when it closed the ticket (so it was open at
    /// `now`). Empty for the live board.
    fn first_flips(&self, now: Millis) -> HashMap<u32, bool, FastState> {
        let mut first: HashMap<u32, bool, FastState> = HashMap::default();
        for (start, bucket) in self.timeline.since(now) {
            for fact in &bucket.changes {
                let delta = change::backlog_delta(fact.kind);
                if delta != 0 && fact.at(start) >= now {
                    first.entry(fact.ticket).or_insert(delta < 0);
                }
            }
        }
        first
    }

    /// Refiles ticket `index` in the open sets as it stands now.
    pub(super) fn refile_open(&mut self, index: u32) {
        if let Some(ticket) = self.tickets.get(index as usize) {
            self.open.refile(index, ticket);
        }
    }

    /// The tickets active at `now` and opened at or before it, by opening
    /// time: the open set, corrected by the changes dated at or after
    /// `now`. A walk of every open ticket: the oracle the open figures are
    /// tested against.
    #[cfg(test)]
    pub(super) fn open_at(&self, now: Millis) -> Vec<(Millis, u32)> {
        let first = self.first_flips(now);
        let mut open: Vec<(Millis, u32)> = self
            .open
            .all
            .open
            .iter()
            .take_while(|(opened_at, _)| *opened_at <= now)
            .filter(|(_, index)| !first.contains_key(index))
            .copied()
            .collect();
        for (index, closed_later) in first {
            let opened_at = self.tickets[index as usize].opened_at;
            if closed_later && opened_at <= now {
                open.push((opened_at, index));
            }
        }
        open.sort_unstable();
        open
    }

    /// [`Aggregator::open_summary`] by a walk of [`Aggregator::open_at`]:
    /// the brute-force definition the property tests compare with.
    #[cfg(test)]
    pub(super) fn open_summary_by_walk(&self, now: Millis, site: Option<&str>) -> OpenSummary {
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
            let tier = self.open.tier(index);
            let escalations = &mut summary.escalations;
            escalations.tier_2 += u64::from(tier == 2);
            escalations.tier_3 += u64::from(tier == 3);
            escalations.status_escalated += u64::from(ticket.status == TicketStatus::Escalated);
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
}

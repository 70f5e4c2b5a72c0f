//! Known issues in the aggregator: the go-live's hot list (lead-written
//! titles and workarounds, and when each was opened and resolved) and the
//! tickets linked to each, for `group_by=known_issue`, the known-issue
//! list and the board's top known issues.
//!
//! A link is a diagnosis of what a ticket was about, so a ticket counts
//! for the known issue it is linked to now in every window, past ones
//! included: a ticket opened at 07:10 and linked at 07:40 counts for its
//! known issue at 07:10. Linking it to another known issue moves it.
//! In the same spirit a known issue is open from before a lead named it:
//! the board as of a moment before its creation lists it when tickets of
//! that moment are linked to it (hindsight is what an after-action review
//! is for). Counted facts are the report's (§ metric semantics in the module
//! above); "tickets" of a known issue are its linked tickets by
//! `opened_at`.

use super::figures::{TicketFigures, TicketTally};
use super::intern::{FastState, Interner};
use super::timeline::{Bucket, change};
use super::totals::{OTHER, SeriesLimits};
use super::{Aggregator, Class};
use crate::event::{KnownIssueChanged, KnownIssueCreated, TicketId};
use crate::model::{KnownIssueStatus, TicketDimension};
use crate::time::Millis;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

const HOUR_MS: Millis = 3_600_000;
/// Equal parts of the window a [`KnownIssueTop`]'s trend has.
pub const KNOWN_ISSUE_TREND_BUCKETS: usize = 6;

/// Every known issue and every link.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct KnownIssues {
    ids: Interner,
    /// By interned id.
    issues: Vec<Issue>,
    /// Ticket index → known issue index, for linked tickets only.
    links: HashMap<u32, u32, FastState>,
    /// Known issue index → its linked tickets.
    linked: Vec<Vec<u32>>,
    /// Known issue index → links ever made to it (a counter: a ticket
    /// moved to another known issue still counts here).
    links_made: Vec<u64>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Issue {
    title: String,
    application: Option<String>,
    workaround: Option<String>,
    created_at: Millis,
    /// Status changes after the creation (which opens it), in log order.
    statuses: Vec<(Millis, KnownIssueStatus)>,
}

impl Issue {
    /// The status at `at`: open until its first resolution (before its
    /// creation too).
    fn status_at(&self, at: Millis) -> KnownIssueStatus {
        self.statuses
            .iter()
            .rev()
            .find(|(when, _)| *when <= at)
            .map_or(KnownIssueStatus::Open, |(_, status)| *status)
    }

    fn status(&self) -> KnownIssueStatus {
        self.statuses
            .last()
            .map_or(KnownIssueStatus::Open, |(_, status)| *status)
    }
}

impl KnownIssues {
    pub(super) fn created(&mut self, created: &KnownIssueCreated) {
        let index = self.ids.intern(&created.id) as usize;
        if index < self.issues.len() {
            return;
        }
        self.issues.push(Issue {
            title: created.title.clone(),
            application: created.application.clone(),
            workaround: created.workaround.clone(),
            created_at: created.at,
            statuses: Vec::new(),
        });
        self.linked.push(Vec::new());
        self.links_made.push(0);
    }

    pub(super) fn changed(&mut self, changed: &KnownIssueChanged) {
        let Some(issue) = self
            .ids
            .get(&changed.id)
            .and_then(|index| self.issues.get_mut(index))
        else {
            return;
        };
        if let Some(title) = &changed.title {
            issue.title.clone_from(title);
        }
        if let Some(workaround) = &changed.workaround {
            issue.workaround = (!workaround.is_empty()).then(|| workaround.clone());
        }
        if let Some(status) = changed.status {
            // A change stamped before the previous one is taken as then.
            let at = issue
                .statuses
                .last()
                .map_or(issue.created_at, |(when, _)| *when)
                .max(changed.at);
            issue.statuses.push((at, status));
        }
    }

    /// Links ticket `ticket` to the known issue `id` (unknown ids, which
    /// the ledger never commits, are ignored).
    pub(super) fn link(&mut self, ticket: u32, id: &str) {
        let Some(issue) = self.ids.get(id).and_then(|i| u32::try_from(i).ok()) else {
            return;
        };
        if let Some(previous) = self.links.insert(ticket, issue) {
            if previous == issue {
                return;
            }
            if let Some(list) = self.linked.get_mut(previous as usize) {
                list.retain(|&t| t != ticket);
            }
        }
        if let Some(list) = self.linked.get_mut(issue as usize) {
            list.push(ticket);
        }
        if let Some(made) = self.links_made.get_mut(issue as usize) {
            *made += 1;
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.ids.heap_bytes()
            + self.issues.capacity() * size_of::<Issue>()
            + super::intern::table_bytes(self.links.capacity(), size_of::<(u32, u32)>())
            + self
                .linked
                .iter()
                .map(|l| l.capacity() * size_of::<u32>())
                .sum::<usize>()
    }
}

/// One known issue as `GET /api/v1/known-issues` lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KnownIssue {
    pub id: String,
    pub title: String,
    pub application: Option<String>,
    pub workaround: Option<String>,
    pub status: KnownIssueStatus,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub created_at: Millis,
    /// Linked tickets, all.
    pub tickets_total: u64,
    /// Linked tickets opened in the last 60 minutes.
    pub tickets_60m: u64,
    /// For a resolved known issue: did the tickets stop after it?
    pub resolution: Option<Resolution>,
}

/// Linked tickets in the hour before and the hour after a known issue was
/// resolved (its latest resolution).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resolution {
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub resolved_at: Millis,
    /// Linked tickets opened in `[resolved_at − 1 h, resolved_at)`.
    pub tickets_60m_before: u64,
    /// Linked tickets opened in `[resolved_at, resolved_at + 1 h)` (so
    /// far, while `hour_after_complete` is false).
    pub tickets_60m_after: u64,
    /// Whether the hour after the resolution is over.
    pub hour_after_complete: bool,
}

/// A known issue's tickets in a window, with their trend: a line of the
/// board's top known issues (and of a huddle report).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KnownIssueTop {
    pub id: String,
    pub title: String,
    pub application: Option<String>,
    /// Its status at the window's end.
    pub status: KnownIssueStatus,
    /// Linked tickets opened in the window.
    pub tickets: u64,
    /// Linked tickets opened in the window of the same length before.
    pub previous: u64,
    /// Linked tickets opened in each of [`KNOWN_ISSUE_TREND_BUCKETS`]
    /// equal parts of the window, oldest first.
    pub trend: Vec<u64>,
}

impl Aggregator {
    /// Every known issue in creation order, its figures as of `now`.
    pub fn known_issues(&self, now: Millis) -> Vec<KnownIssue> {
        let known = &self.known;
        known
            .issues
            .iter()
            .enumerate()
            .map(|(index, issue)| {
                let linked = &known.linked[index];
                let count = |from: Millis, to: Millis| self.linked_opened(linked, from, to, None);
                let resolution = match issue.status() {
                    KnownIssueStatus::Open => None,
                    KnownIssueStatus::Resolved => {
                        issue.statuses.last().map(|&(at, _)| Resolution {
                            resolved_at: at,
                            tickets_60m_before: count(at - HOUR_MS, at),
                            tickets_60m_after: count(at, at + HOUR_MS),
                            hour_after_complete: now >= at + HOUR_MS,
                        })
                    }
                };
                KnownIssue {
                    id: known.ids.name(index).to_owned(),
                    title: issue.title.clone(),
                    application: issue.application.clone(),
                    workaround: issue.workaround.clone(),
                    status: issue.status(),
                    created_at: issue.created_at,
                    tickets_total: linked.len() as u64,
                    tickets_60m: count(now - HOUR_MS, now),
                    resolution,
                }
            })
            .collect()
    }

    /// The known issues that existed at `to` or have linked tickets in
    /// the window or the one before, by their linked tickets opened in
    /// `[from, to)` (of `site` only when given, by the ticket's
    /// site when it opened), most first, at most `limit`; each with the
    /// window of the same length before and a trend over the window. The
    /// board shows the open ones of the last 60 minutes; a huddle report
    /// takes its day or shift.
    pub fn known_issues_top(
        &self,
        from: Millis,
        to: Millis,
        site: Option<&str>,
        limit: usize,
    ) -> Vec<KnownIssueTop> {
        let known = &self.known;
        let site = match site {
            Some(name) => match self.group_of_value(TicketDimension::Site, name) {
                Some(group) => Some(group),
                None => return Vec::new(),
            },
            None => None,
        };
        let span = (to - from).max(1);
        let mut lines: Vec<KnownIssueTop> = known
            .issues
            .iter()
            .enumerate()
            .filter_map(|(index, issue)| {
                let status = issue.status_at(to.saturating_sub(1));
                let linked = &known.linked[index];
                let mut trend = vec![0u64; KNOWN_ISSUE_TREND_BUCKETS];
                let (mut tickets, mut previous) = (0, 0);
                for &ticket in linked {
                    if !self.ticket_at_site(ticket, site) {
                        continue;
                    }
                    let opened_at = self.tickets[ticket as usize].opened_at;
                    if from <= opened_at && opened_at < to {
                        tickets += 1;
                        let part = i128::from(opened_at - from) * KNOWN_ISSUE_TREND_BUCKETS as i128
                            / i128::from(span);
                        if let Some(slot) =
                            usize::try_from(part).ok().and_then(|p| trend.get_mut(p))
                        {
                            *slot += 1;
                        }
                    } else if from - span <= opened_at && opened_at < from {
                        previous += 1;
                    }
                }
                if issue.created_at >= to && tickets + previous == 0 {
                    return None;
                }
                Some(KnownIssueTop {
                    id: known.ids.name(index).to_owned(),
                    title: issue.title.clone(),
                    application: issue.application.clone(),
                    status,
                    tickets,
                    previous,
                    trend,
                })
            })
            .collect();
        lines.sort_by(|a, b| {
            b.tickets
                .cmp(&a.tickets)
                .then_with(|| b.previous.cmp(&a.previous))
                .then_with(|| a.id.len().cmp(&b.id.len()))
                .then_with(|| a.id.cmp(&b.id))
        });
        lines.truncate(limit);
        lines
    }

    /// The report's ticket figures for `[from, to)` per known issue, keyed
    /// by its id (`group_by=known_issue`); tickets without one are not
    /// listed, nor known issues with nothing to count.
    pub fn known_issue_report(&self, from: Millis, to: Millis) -> BTreeMap<String, TicketFigures> {
        let known = &self.known;
        let group = |ticket: u32| known.links.get(&ticket).map(|&issue| issue as usize);
        let in_window = |at: Millis| from <= at && at < to;
        let mut tallies = vec![TicketTally::default(); known.issues.len()];
        if !known.links.is_empty() {
            for (start, bucket) in self.timeline.window(from, to) {
                for &index in &bucket.opened {
                    if let Some(g) = group(index)
                        && in_window(self.tickets[index as usize].opened_at)
                    {
                        tallies[g].opened += 1;
                    }
                }
                for change in &bucket.changes {
                    let at = change.at(start);
                    if change.kind & change::COUNTED != 0
                        && in_window(at)
                        && let Some(g) = group(change.ticket)
                    {
                        let opened_at = self.tickets[change.ticket as usize].opened_at;
                        tallies[g].add_change(change.kind, at - opened_at);
                    }
                }
            }
            self.known_issue_backlog(to, &group, &mut tallies);
        }
        tallies
            .iter_mut()
            .enumerate()
            .filter(|(_, tally)| !tally.is_empty())
            .map(|(index, tally)| (known.ids.name(index).to_owned(), tally.figures()))
            .collect()
    }

    /// Sets each known issue's backlog as of `to`, walking whichever side
    /// of `to` spans less time (as the report's backlog does).
    fn known_issue_backlog(
        &self,
        to: Millis,
        group: &dyn Fn(u32) -> Option<usize>,
        tallies: &mut [TicketTally],
    ) {
        let before = self.timeline.shorter_before(to);
        let (buckets, sign): (Box<dyn Iterator<Item = (Millis, &Bucket)>>, i64) = if before {
            (Box::new(self.timeline.before(to)), 1)
        } else {
            for (&ticket, &issue) in &self.known.links {
                if self.tickets[ticket as usize].status.is_active() {
                    tallies[issue as usize].backlog += 1;
                }
            }
            (Box::new(self.timeline.since(to)), -1)
        };
        let counts = |at: Millis| (at < to) == before;
        for (start, bucket) in buckets {
            for &index in &bucket.opened {
                if let Some(g) = group(index)
                    && counts(self.tickets[index as usize].opened_at)
                {
                    tallies[g].backlog += sign;
                }
            }
            for change in &bucket.changes {
                let delta = change::backlog_delta(change.kind);
                if delta != 0
                    && counts(change.at(start))
                    && let Some(g) = group(change.ticket)
                {
                    tallies[g].backlog += sign * delta;
                }
            }
        }
    }

    /// The id of the known issue ticket `id` is linked to.
    pub fn known_issue_of(&self, id: TicketId) -> Option<&str> {
        let index = self.ticket_index.get(&id)?;
        let issue = self.known.links.get(index)?;
        Some(self.known.ids.name(*issue as usize))
    }

    /// Links ever made to each known issue, by id in creation order, for
    /// the `/metrics` counter: past `limits.label_values` known issues the
    /// rest are summed as [`OTHER`], so the series stay bounded.
    pub fn known_issue_links(&self, limits: &SeriesLimits) -> Vec<(String, u64)> {
        let known = &self.known;
        let kept = known.links_made.len().min(limits.label_values);
        let mut lines: Vec<(String, u64)> = known.links_made[..kept]
            .iter()
            .enumerate()
            .map(|(index, &made)| (known.ids.name(index).to_owned(), made))
            .collect();
        if kept < known.links_made.len() {
            lines.push((OTHER.to_owned(), known.links_made[kept..].iter().sum()));
        }
        lines
    }

    /// Whether a known issue with this id exists.
    pub fn knows_known_issue(&self, id: &str) -> bool {
        self.known.ids.get(id).is_some()
    }

    /// How many of `linked` opened in `[from, to)`, of `site` only when
    /// given (a site group).
    fn linked_opened(&self, linked: &[u32], from: Millis, to: Millis, site: Option<usize>) -> u64 {
        linked
            .iter()
            .filter(|&&ticket| {
                let opened_at = self.tickets[ticket as usize].opened_at;
                from <= opened_at && opened_at < to && self.ticket_at_site(ticket, site)
            })
            .count() as u64
    }

    /// Whether ticket `index` opened at site group `site` (any when `None`).
    fn ticket_at_site(&self, index: u32, site: Option<usize>) -> bool {
        site.is_none_or(|group| {
            let class: Class = self.class_of(index, 0);
            class.group(TicketDimension::Site) == group
        })
    }
}

//! A generated go-live log for the benchmarks that replay one: tickets
//! created, worked, resolved, reopened and closed, late imports, phone
//! queues with ACD events out of order, decided command by command by the
//! same `Ledger` the writer uses and committed through `Store::commit` in
//! batches with their projection rows, as `golive-server`'s writer builds
//! them. Used by the replay and growth benchmarks.

use golive_core::event::{CallRecorded, Event, RecordedEvent, TicketId};
use golive_core::input::{NewTicket, TicketPatch, TicketRef};
use golive_core::ledger::{Command, Ledger, Outcome};
use golive_core::model::{CallEventKind, Category, Channel, Severity, TicketStatus};
use golive_core::time::Millis;
use golive_store::{CommitBatch, Store};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};

pub const MINUTE: Millis = 60_000;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;
/// Events per `Store::commit`.
const BATCH: usize = 25_000;

pub const SITES: [&str; 6] = [
    "Main Campus",
    "North Hospital",
    "Children's Pavilion",
    "East Clinic",
    "Cancer Center",
    "West Surgical",
];
pub const DEPARTMENTS: [&str; 16] = [
    "Emergency",
    "ICU",
    "Med-Surg 4W",
    "Med-Surg 5E",
    "Pharmacy",
    "Radiology",
    "Lab",
    "Labor & Delivery",
    "NICU",
    "Oncology",
    "Cardiology",
    "OR",
    "PACU",
    "Registration",
    "Primary Care",
    "Behavioral Health",
];
pub const APPLICATIONS: [&str; 12] = [
    "Orders",
    "Clinical Documentation",
    "MAR",
    "Pharmacy",
    "Lab",
    "Radiology",
    "Scheduling",
    "Registration",
    "Billing",
    "Anesthesia",
    "Surgery",
    "Results Review",
];
pub const QUEUES: [&str; 6] = [
    "Physician Line",
    "Nursing Line",
    "Access Line",
    "Pharmacy Line",
    "Ancillary Line",
    "Revenue Line",
];
pub const SUMMARIES: [&str; 6] = [
    "Cannot find the sepsis order set in the ED order panel",
    "MAR shows the dose as given twice after barcode scan",
    "Needs access to the oncology treatment plan activity",
    "Label printer at the nurses' station prints blank labels",
    "Discharge navigator skips the medication reconciliation step",
    "Lab results interface not filing to the chart since 07:00",
];

/// Decides every command against a ledger, as the server's writer does, and
/// commits the events with their projection rows in batches. Returns the
/// number of tickets and calls.
pub async fn write_log(
    store: &dyn Store,
    commands: Vec<Planned>,
    limit: u64,
) -> (usize, usize, [u64; 5]) {
    let mut ledger = Ledger::new();
    // Plan index of a creation → the id the ledger gave it.
    let mut ids: Vec<Option<TicketId>> = Vec::new();
    let mut pending: Vec<RecordedEvent> = Vec::with_capacity(BATCH);
    let mut created = None;
    let mut kinds = [0u64; 5];
    for planned in commands {
        if ledger.last_seq() >= limit {
            break;
        }
        let (recorded_at, command) = match planned {
            Planned::Create(at, plan, ticket) => {
                if ids.len() <= plan {
                    ids.resize(plan + 1, None);
                }
                created = Some(plan);
                (at, Command::CreateTicket(*ticket))
            }
            Planned::Change(at, plan, patch) => {
                let Some(id) = ids.get(plan).copied().flatten() else {
                    continue;
                };
                (at, Command::UpdateTicket(TicketRef::Id(id), patch))
            }
            Planned::Call(at, call) => (at, Command::RecordCall(call)),
        };
        if pending.is_empty() {
            ledger.begin_batch();
        }
        let (outcome, events) = ledger.decide(command).unwrap_or_else(|rejection| {
            panic!("the generator made an invalid command: {rejection}")
        });
        if let (Outcome::TicketCreated(id), Some(plan)) = (outcome, created.take()) {
            ids[plan] = Some(id);
        }
        if let Some(event) = events.into_iter().next() {
            kinds[match event {
                Event::TicketCreated(_) => 0,
                Event::TicketChanged(_) => 1,
                Event::CallRecorded(_) | Event::CallLegReplaced(_) => 2,
                Event::QueueConfigured(_) => 3,
                Event::AlertAcknowledged(_)
                | Event::AlertRaised(_)
                | Event::AlertCleared(_)
                | Event::KnownIssueCreated(_)
                | Event::KnownIssueChanged(_) => 4,
            }] += 1;
            pending.push(RecordedEvent {
                seq: ledger.last_seq(),
                recorded_at,
                event,
            });
        }
        if pending.len() >= BATCH {
            commit(store, &mut ledger, &mut pending).await;
        }
    }
    if !pending.is_empty() {
        commit(store, &mut ledger, &mut pending).await;
    }
    println!(
        "events: {} tickets created, {} ticket changes, {} call events",
        kinds[0], kinds[1], kinds[2]
    );
    let (tickets, calls) = ledger.counts();
    (tickets, calls, kinds)
}

async fn commit(store: &dyn Store, ledger: &mut Ledger, pending: &mut Vec<RecordedEvent>) {
    let first = pending.first().map_or(0, |e| e.seq);
    let events = std::mem::take(pending);
    let mut batch = Some(CommitBatch::new(ledger.rows_of(&events), events));
    let known = first - 1;
    let last = store
        .commit(known, &mut |missed: Vec<RecordedEvent>| {
            assert!(missed.is_empty(), "nobody else writes this log");
            batch.take().unwrap_or_default()
        })
        .await
        .expect("commit");
    assert_eq!(last, ledger.last_seq());
    ledger.commit_batch();
    pending.clear();
}

/// A command with the time it is recorded, before ticket ids exist.
pub enum Planned {
    /// The `usize`-th ticket of the plan is created.
    Create(Millis, usize, Box<NewTicket>),
    /// A change of the ticket created by the `usize`-th creation.
    Change(Millis, usize, TicketPatch),
    Call(Millis, CallRecorded),
}

impl Planned {
    fn recorded_at(&self) -> Millis {
        match self {
            Planned::Create(at, _, _) | Planned::Change(at, _, _) | Planned::Call(at, _) => *at,
        }
    }
}

/// A seeded generator, so every run sees the same data.
struct Rng {
    rng: StdRng,
    start: Millis,
    span: Millis,
}

impl Rng {
    fn seeded(seed: u64, start: Millis, span: Millis) -> Rng {
        Rng {
            rng: StdRng::seed_from_u64(seed),
            start,
            span,
        }
    }

    fn next(&mut self) -> u64 {
        self.rng.random()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A time in the span, busier in the day than at night.
    fn moment(&mut self) -> Millis {
        loop {
            let at = self.start + self.below(self.span as u64) as Millis;
            let hour = (at - self.start) / HOUR % 24;
            let busy = if (7..19).contains(&hour) { 100 } else { 30 };
            if self.chance(busy) {
                return at;
            }
        }
    }

    fn pick<'a>(&mut self, names: &[&'a str]) -> &'a str {
        names[self.below(names.len() as u64) as usize]
    }
}

/// `tickets` tickets and `calls` calls over `[start, start + span)`, busier
/// by day than at night, as commands in recorded-time order (commands
/// recorded after the span are left out). About 2.5 events per ticket and
/// 2.8 per call.
pub fn commands(start: Millis, span: Millis, tickets: usize, calls: usize) -> Vec<Planned> {
    let mut rng = Rng::seeded(42, start, span);
    let mut plan: Vec<Planned> = Vec::with_capacity(tickets * 3 + calls * 3);
    for ticket in 0..tickets {
        let opened_at = rng.moment();
        let first_contact = rng.chance(25);
        let late_import = rng.chance(5);
        let recorded_at = if late_import {
            opened_at + 6 * HOUR + rng.below(24 * HOUR as u64) as Millis
        } else {
            opened_at + rng.below(5 * MINUTE as u64) as Millis
        };
        let status = if first_contact {
            TicketStatus::Resolved
        } else if rng.chance(5) {
            TicketStatus::Escalated
        } else {
            TicketStatus::Open
        };
        let resolved_at =
            first_contact.then(|| opened_at + 2 * MINUTE + rng.below(13 * MINUTE as u64) as Millis);
        plan.push(Planned::Create(
            recorded_at,
            ticket,
            Box::new(NewTicket {
                external_id: Some(format!("INC{ticket:08}")),
                opened_at,
                site: rng.pick(&SITES).into(),
                department: rng.pick(&DEPARTMENTS).into(),
                application: rng.pick(&APPLICATIONS).into(),
                category: Category::ALL[rng.below(8) as usize],
                severity: Severity::ALL[rng.below(4) as usize],
                channel: Channel::ALL[rng.below(6) as usize],
                summary: Some(SUMMARIES[rng.below(6) as usize].into()),
                reporter_role: Some(if rng.chance(60) { "nurse" } else { "physician" }.into()),
                status,
                resolved_at,
                assignee: None,
                tier: None,
                known_issue: None,
            }),
        ));
        if late_import || first_contact {
            continue;
        }
        // A live ticket's life: worked, maybe reassigned, resolved (some
        // reopened and resolved again), closed a day later.
        let mut at = recorded_at + rng.below(30 * MINUTE as u64) as Millis;
        let mut change = |at: Millis, status: Option<TicketStatus>, rng: &mut Rng| {
            let patch = TicketPatch {
                status,
                at,
                assignee: Some(format!("desk-{}", rng.below(40))),
                tier: status.is_none().then_some(2),
                reclassify: Default::default(),
                known_issue: None,
            };
            plan.push(Planned::Change(at, ticket, patch));
        };
        change(at, Some(TicketStatus::InProgress), &mut rng);
        if rng.chance(30) {
            at += rng.below(10 * MINUTE as u64) as Millis;
            change(at, None, &mut rng);
        }
        if rng.chance(85) {
            at += 10 * MINUTE + rng.below(8 * HOUR as u64) as Millis;
            change(at, Some(TicketStatus::Resolved), &mut rng);
            if rng.chance(10) {
                at += 1 + rng.below(2 * HOUR as u64) as Millis;
                change(at, Some(TicketStatus::Open), &mut rng);
                at += 1 + rng.below(2 * HOUR as u64) as Millis;
                change(at, Some(TicketStatus::Resolved), &mut rng);
            }
            if rng.chance(50) {
                change(at + 24 * HOUR, Some(TicketStatus::Closed), &mut rng);
            }
        }
    }
    for call in 0..calls {
        let call_id = format!("c-{call:09}");
        let queue = rng.pick(&QUEUES);
        let offered_at = rng.moment();
        let mut push = |kind: CallEventKind, at: Millis, wrap: Option<f64>, rng: &mut Rng| {
            // The ACD feed lags, a few events by minutes (out of order).
            let lag = if rng.chance(3) {
                rng.below(5 * MINUTE as u64)
            } else {
                rng.below(2_000)
            };
            let event = CallRecorded {
                call_id: call_id.clone(),
                queue: queue.into(),
                event: kind,
                at,
                agent: (kind == CallEventKind::Answered).then(|| format!("a-{}", rng.below(60))),
                wrap_seconds: wrap,
            };
            plan.push(Planned::Call(at + lag as Millis, event));
        };
        push(CallEventKind::Offered, offered_at, None, &mut rng);
        let wait = rng.below(90_000) as Millis;
        match rng.below(100) {
            0..85 => {
                push(CallEventKind::Answered, offered_at + wait, None, &mut rng);
                let talk = 60_000 + rng.below(600_000) as Millis;
                push(
                    CallEventKind::Ended,
                    offered_at + wait + talk,
                    Some(30.0),
                    &mut rng,
                );
            }
            85..95 => push(CallEventKind::Abandoned, offered_at + wait, None, &mut rng),
            _ => {}
        }
    }
    plan.retain(|p| p.recorded_at() < start + span);
    plan.sort_by_key(Planned::recorded_at);
    plan
}

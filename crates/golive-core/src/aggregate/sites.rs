//! Lookups the staffing recommendations need beyond reports: the names
//! known in a dimension, and at-the-elbow arrivals per site and department.

use super::Aggregator;
use crate::ate_model::is_ate_channel;
use crate::model::{Channel, TicketDimension};
use crate::time::Millis;

impl Aggregator {
    /// Every value seen for `dimension`, sorted.
    pub fn known_values(&self, dimension: TicketDimension) -> Vec<String> {
        let mut values: Vec<String> = (0..self.group_count(dimension))
            .map(|group| self.group_name(dimension, group))
            .collect();
        values.sort();
        values
    }

    /// Tickets opened in `[from, to)` through an at-the-elbow channel
    /// (`ate`, `walk_in`), per site and department. Every known site is
    /// listed, quiet ones with no departments, so each gets its minimum
    /// floor coverage.
    pub fn ate_arrivals(&self, from: Millis, to: Millis) -> Vec<(String, Vec<(String, u64)>)> {
        let sites = self.group_count(TicketDimension::Site);
        let mut counts: Vec<Vec<(u32, u64)>> = vec![Vec::new(); sites];
        for (_, bucket) in self.timeline.window(from, to) {
            for &index in &bucket.opened {
                let ticket = &self.tickets[index as usize];
                let class = self.class_of(index, 0);
                let channel = Channel::ALL.get(usize::from(class.channel)).copied();
                if !(from <= ticket.opened_at
                    && ticket.opened_at < to
                    && channel.is_some_and(is_ate_channel))
                {
                    continue;
                }
                let Some(site) = counts.get_mut(class.site as usize) else {
                    continue;
                };
                match site
                    .iter_mut()
                    .find(|(department, _)| *department == class.department)
                {
                    Some((_, count)) => *count += 1,
                    None => site.push((class.department, 1)),
                }
            }
        }
        let mut out: Vec<(String, Vec<(String, u64)>)> = counts
            .into_iter()
            .enumerate()
            .map(|(site, departments)| {
                let named = departments
                    .into_iter()
                    .map(|(department, count)| {
                        (
                            self.group_name(TicketDimension::Department, department as usize),
                            count,
                        )
                    })
                    .collect();
                (self.group_name(TicketDimension::Site, site), named)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, RecordedEvent, TicketCreated};
    use crate::model::{Category, Severity, TicketStatus};

    fn ticket(
        id: u64,
        site: &str,
        department: &str,
        channel: Channel,
        opened_at: Millis,
    ) -> RecordedEvent {
        RecordedEvent {
            seq: id,
            recorded_at: opened_at,
            event: Event::TicketCreated(TicketCreated {
                id,
                external_id: None,
                opened_at,
                site: site.into(),
                department: department.into(),
                application: "Orders".into(),
                category: Category::HowTo,
                severity: Severity::new(3).unwrap_or(Severity::ALL[2]),
                channel,
                summary: None,
                reporter_role: None,
                status: TicketStatus::Open,
                resolved_at: None,
                assignee: None,
                tier: None,
                source_key: None,
                source_updated_at: None,
                known_issue: None,
            }),
        }
    }

    #[test]
    fn counts_only_floor_channels_in_the_window_per_site() {
        let mut aggregator = Aggregator::new();
        let t0 = 1_772_435_645_000;
        for event in [
            ticket(1, "Main", "ICU", Channel::Ate, t0),
            ticket(2, "Main", "ICU", Channel::WalkIn, t0 + 1000),
            ticket(3, "Main", "ED", Channel::Ate, t0 + 2000),
            ticket(4, "Main", "ED", Channel::Phone, t0 + 3000),
            ticket(5, "North", "Lab", Channel::Phone, t0),
            ticket(6, "Main", "ED", Channel::Ate, t0 + 3_600_000),
        ] {
            aggregator.apply(&event);
        }
        let arrivals = aggregator.ate_arrivals(t0, t0 + 60_000);
        assert_eq!(
            arrivals,
            vec![
                (
                    "Main".to_string(),
                    vec![("ICU".to_string(), 2), ("ED".to_string(), 1)]
                ),
                ("North".to_string(), vec![]),
            ]
        );
        assert_eq!(
            aggregator.known_values(TicketDimension::Site),
            ["Main", "North"]
        );
    }
}

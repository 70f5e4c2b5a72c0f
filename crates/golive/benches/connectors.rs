//! Connector throughput (issue #10): the same new tickets through the
//! ServiceNow connector as Table API JSON (`sysparm_display_value=all`
//! records, 10,000 per request, two requests in flight) and as one CSV list
//! export (labels, streamed), beside the floor measured in the same run:
//! golive's own bulk NDJSON ingest of the same tickets (20,000 lines per
//! request, two in flight), each on a fresh SQLite database through the
//! real release binary. Target: at least 50 % of the NDJSON rate.
//!
//! Run: `cargo bench -p golive --bench connectors`
//! (`GOLIVE_BENCH_TICKETS` changes the number of tickets, default 100,000).

mod support;

use support::{APPS, DEPTS, SITES};

use serde_json::{Value, json};

const ADMIN: &str = "bench-admin-token";
/// (state code, label, golive status) of the tickets, by n % 3.
const STATES: [(&str, &str, &str); 3] = [
    ("1", "New", "open"),
    ("2", "In Progress", "in_progress"),
    ("3", "On Hold", "pending"),
];
const PRIORITIES: [&str; 4] = ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"];
const CONTACTS: [(&str, &str, &str); 3] = [
    ("phone", "Phone", "phone"),
    ("walk-in", "Walk-in", "walk_in"),
    ("email", "Email", "email"),
];
const CATEGORIES: [(&str, &str, &str); 2] = [
    ("inquiry", "Inquiry / Help", "how_to"),
    ("hardware", "Hardware", "hardware"),
];

/// Ticket `n`'s opening: spread over 2026-03-02 from 07:00.
fn opened(n: usize) -> String {
    let second = n % 36_000;
    format!(
        "2026-03-02 {:02}:{:02}:{:02}",
        7 + second / 3600,
        second / 60 % 60,
        second % 60
    )
}

fn ndjson_line(n: usize) -> String {
    json!({
        "kind": "ticket",
        "external_id": format!("INC{n:09}"),
        "opened_at": opened(n).replace(' ', "T") + "Z",
        "site": SITES[n % 3], "department": DEPTS[n % 6], "application": APPS[n % 8],
        "category": CATEGORIES[n % 2].2, "severity": 1 + n % 4, "channel": CONTACTS[n % 3].2,
        "status": STATES[n % 3].2,
    })
    .to_string()
}

/// Incident `n` as the Table API returns it with `sysparm_display_value=all`.
fn table_api_record(n: usize) -> Value {
    let pair = |value: &str, display: &str| json!({"value": value, "display_value": display});
    let same = |text: &str| pair(text, text);
    let reference = |id: String, name: &str| {
        json!({"value": id, "display_value": name,
               "link": format!("https://golivehospital.service-now.com/api/now/table/x/{n:032x}")})
    };
    let (state, state_label, _) = STATES[n % 3];
    let priority = PRIORITIES[n % 4];
    let (contact, contact_label, _) = CONTACTS[n % 3];
    let (category, category_label, _) = CATEGORIES[n % 2];
    let number = format!("INC{n:09}");
    let opened = opened(n);
    json!({
        "sys_id": same(&format!("{n:032x}")),
        "number": same(&number),
        "state": pair(state, state_label),
        "priority": pair(&priority[..1], priority),
        "contact_type": pair(contact, contact_label),
        "category": pair(category, category_label),
        "location": reference(format!("{:032x}", n % 3), SITES[n % 3]),
        "cmdb_ci": reference(format!("{:032x}", 100 + n % 8), APPS[n % 8]),
        "u_department": same(DEPTS[n % 6]),
        "opened_at": pair(&opened, &opened),
        "resolved_at": same(""),
        "closed_at": same(""),
        "sys_updated_on": pair(&opened, &opened),
    })
}

const CSV_HEADER: &str = "\"number\",\"sys_updated_on\",\"state\",\"priority\",\"contact_type\",\"category\",\"location\",\"cmdb_ci\",\"u_department\",\"opened_at\",\"resolved_at\"\n";

fn csv_row(n: usize) -> String {
    let opened = opened(n);
    format!(
        "\"INC{n:09}\",\"{opened}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{opened}\",\"\"\n",
        STATES[n % 3].1,
        PRIORITIES[n % 4],
        CONTACTS[n % 3].1,
        CATEGORIES[n % 2].1,
        SITES[n % 3],
        APPS[n % 8],
        DEPTS[n % 6],
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let tickets: usize = std::env::var("GOLIVE_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cores} cores; {tickets} new tickets per path; SQLite");

    let ndjson: Vec<String> = (0..tickets)
        .collect::<Vec<_>>()
        .chunks(20_000)
        .map(|chunk| {
            chunk
                .iter()
                .map(|n| ndjson_line(*n))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let floor = through(&ndjson, "/api/v1/ingest", "application/x-ndjson", tickets).await;
    println!("floor: bulk NDJSON ingest: {floor:.0} tickets/s");

    let table_api: Vec<String> = (0..tickets)
        .collect::<Vec<_>>()
        .chunks(10_000)
        .map(|chunk| {
            let records: Vec<Value> = chunk.iter().map(|n| table_api_record(*n)).collect();
            json!({ "result": records }).to_string()
        })
        .collect();
    let json_rate = through(
        &table_api,
        "/api/v1/connectors/servicenow",
        "application/json",
        tickets,
    )
    .await;
    println!(
        "ServiceNow Table API JSON (display_value=all): {json_rate:.0} records/s = {:.0} % of NDJSON",
        100.0 * json_rate / floor
    );

    let mut csv = String::from(CSV_HEADER);
    for n in 0..tickets {
        csv.push_str(&csv_row(n));
    }
    let csv_rate = through(&[csv], "/api/v1/connectors/servicenow", "text/csv", tickets).await;
    println!(
        "ServiceNow CSV export (one streamed request): {csv_rate:.0} records/s = {:.0} % of NDJSON",
        100.0 * csv_rate / floor
    );
}

/// Posts `bodies` (two requests in flight) to a fresh server; records
/// per second.
async fn through(
    bodies: &[String],
    path: &str,
    content_type: &'static str,
    expected: usize,
) -> f64 {
    support::post_all(bodies, path, content_type, ADMIN, expected).await
}

//! The mapping layer alone: ServiceNow Table API records
//! (`sysparm_display_value=all`) parsed and mapped to commands, and CSV
//! rows streamed and mapped, per record, without HTTP or storage; the
//! connector benchmark (`cargo bench -p golive --bench connectors`) has the
//! end-to-end figures.
//!
//! Run: `cargo bench -p golive-connect --bench mapping`.

use golive_connect::config::TicketMappingConfig;
use golive_connect::csv::{CsvItem, CsvStream};
use golive_connect::{CsvRecord, TicketMapper, servicenow};
use serde_json::{Value, json};
use std::time::Instant;

const RECORDS: usize = 20_000;
const NOW: golive_core::input::Clock = golive_core::input::Clock {
    now: 1_772_500_000_000,
    max_ahead: 300_000,
};

fn record(n: usize) -> Value {
    let pair = |value: &str, display: &str| json!({"value": value, "display_value": display});
    let reference = |id: String, name: &str| json!({"value": id, "display_value": name, "link": format!("https://x.service-now.com/api/now/table/x/{n:032x}")});
    json!({
        "sys_id": pair(&format!("{n:032x}"), &format!("{n:032x}")),
        "number": pair(&format!("INC{n:09}"), &format!("INC{n:09}")),
        "state": pair("2", "In Progress"),
        "priority": pair("3", "3 - Moderate"),
        "contact_type": pair("phone", "Phone"),
        "category": pair("inquiry", "Inquiry / Help"),
        "location": reference(format!("{:032x}", n % 3), "Main Campus"),
        "cmdb_ci": reference(format!("{:032x}", n % 8), "Epic Orders"),
        "u_department": pair("Emergency", "Emergency"),
        "opened_at": pair("2026-03-02 07:00:00", "2026-03-02 01:00:00"),
        "resolved_at": pair("", ""),
        "sys_updated_on": pair("2026-03-02 07:05:00", "2026-03-02 01:05:00"),
    })
}

fn main() {
    let mapper = TicketMapper::new(&servicenow::DEFAULTS, &TicketMappingConfig::default())
        .expect("default mapping");
    let body = json!({"result": (0..RECORDS).map(record).collect::<Vec<_>>()}).to_string();
    println!("{RECORDS} Table API records, {} bytes", body.len());

    let started = Instant::now();
    let parsed = servicenow::parse_records(body.as_bytes()).expect("json");
    let parse = started.elapsed();
    let started = Instant::now();
    let mut mapped = 0;
    for record in parsed.into_iter().flatten() {
        mapped += usize::from(mapper.map(&record, NOW).is_ok());
    }
    let map = started.elapsed();
    assert_eq!(mapped, RECORDS);
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / RECORDS as f64;
    println!(
        "JSON: parse {:.2} µs/record, map {:.2} µs/record, {:.0} records/s",
        per(parse),
        per(map),
        RECORDS as f64 / (parse + map).as_secs_f64()
    );

    let mut csv = String::from(
        "number,sys_updated_on,state,priority,contact_type,category,location,cmdb_ci,u_department,opened_at\n",
    );
    for n in 0..RECORDS {
        csv.push_str(&format!("INC{n:09},2026-03-02 07:05:00,In Progress,3 - Moderate,Phone,Inquiry / Help,Main Campus,Epic Orders,Emergency,2026-03-02 07:00:00\n"));
    }
    let started = Instant::now();
    let mut stream = CsvStream::new();
    let mut mapped = 0;
    let mut on_item = |item: CsvItem<'_>| {
        if let CsvItem::Row { header, fields, .. } = item {
            mapped += usize::from(
                mapper
                    .map(
                        &CsvRecord {
                            header,
                            row: fields,
                        },
                        NOW,
                    )
                    .is_ok(),
            );
        }
    };
    for chunk in csv.as_bytes().chunks(64 * 1024) {
        stream.feed(chunk, &mut on_item);
    }
    stream.finish(&mut on_item);
    let took = started.elapsed();
    assert_eq!(mapped, RECORDS);
    println!(
        "CSV: read and map {:.2} µs/record, {:.0} records/s",
        per(took),
        RECORDS as f64 / took.as_secs_f64()
    );
}

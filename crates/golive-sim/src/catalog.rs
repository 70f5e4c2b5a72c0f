//! The fictional health system the simulator pretends to be: sites,
//! departments, applications, reporter roles, phone queues and the short
//! ticket summaries. Everything here is invented; no summary names a person,
//! a record number or anything else that could be PHI.

use crate::model::Category;

/// A site and the departments that call the command center from it.
pub struct Site {
    pub name: &'static str,
    /// Share of the health system's ticket volume.
    pub weight: f64,
    pub departments: &'static [&'static str],
}

pub const SITES: &[Site] = &[
    Site {
        name: "Main Campus",
        weight: 0.55,
        departments: &[
            "Emergency",
            "ICU",
            "Med-Surg",
            "Surgery",
            "Cardiology",
            "Pharmacy",
            "Radiology",
            "Lab",
            "Registration",
        ],
    },
    Site {
        name: "North Hospital",
        weight: 0.30,
        departments: &[
            "Emergency",
            "Med-Surg",
            "Surgery",
            "Pharmacy",
            "Lab",
            "Registration",
            "Clinic",
        ],
    },
    Site {
        name: "Children's Pavilion",
        weight: 0.15,
        departments: &[
            "Pediatric Emergency",
            "NICU",
            "PICU",
            "Pediatric Med-Surg",
            "Pharmacy",
            "Registration",
            "Clinic",
        ],
    },
];

/// Relative size of each department's user base; clinical floors call most.
pub fn department_weight(department: &str) -> f64 {
    match department {
        "Emergency" | "Med-Surg" | "Pediatric Med-Surg" => 3.0,
        "ICU" | "Surgery" | "Pediatric Emergency" | "Clinic" => 2.0,
        "Registration" | "Pharmacy" | "PICU" | "NICU" => 1.5,
        _ => 1.0,
    }
}

pub const APPLICATIONS: &[&str] = &[
    "Orders",
    "Clinical Documentation",
    "MAR",
    "Pharmacy",
    "Lab",
    "Radiology",
    "Scheduling",
    "Registration/ADT",
    "Billing",
];

/// How often `department` needs help with `application`: a baseline that
/// favours the clinical core, boosted where a department owns an application
/// (pharmacists call about Pharmacy, registrars about Registration/ADT).
pub fn application_weight(department: &str, application: &str) -> f64 {
    let base = match application {
        "Orders" => 20.0,
        "Clinical Documentation" => 22.0,
        "MAR" => 12.0,
        "Registration/ADT" => 9.0,
        "Scheduling" => 5.0,
        "Pharmacy" | "Lab" => 5.0,
        "Radiology" | "Billing" => 4.0,
        _ => 1.0,
    };
    let boost = match (department, application) {
        ("Pharmacy", "Pharmacy") => 10.0,
        ("Lab", "Lab") => 10.0,
        ("Radiology", "Radiology") => 10.0,
        ("Registration", "Registration/ADT") => 7.0,
        ("Registration", "Scheduling") => 4.0,
        ("Registration", "Billing") => 3.0,
        ("Clinic", "Scheduling") => 4.0,
        ("Clinic", "Billing") => 2.0,
        ("Emergency" | "Pediatric Emergency", "Orders" | "Registration/ADT") => 1.5,
        ("ICU" | "PICU" | "NICU", "MAR" | "Clinical Documentation") => 1.5,
        ("Surgery", "Orders") => 1.5,
        // Ancillary and front-desk staff rarely touch nursing documentation.
        ("Pharmacy" | "Lab" | "Radiology" | "Registration", "MAR" | "Clinical Documentation") => {
            0.2
        }
        _ => 1.0,
    };
    base * boost
}

/// Who typically calls from a department, with weights.
pub fn reporter_roles(department: &str) -> &'static [(&'static str, f64)] {
    match department {
        "Pharmacy" => &[("pharmacist", 6.0), ("pharmacy tech", 4.0)],
        "Lab" => &[("lab tech", 8.0), ("phlebotomist", 3.0)],
        "Radiology" => &[("rad tech", 6.0), ("radiologist", 2.0), ("scheduler", 1.0)],
        "Registration" => &[("registrar", 8.0), ("scheduler", 2.0), ("biller", 1.0)],
        "Clinic" => &[
            ("medical assistant", 4.0),
            ("physician", 3.0),
            ("scheduler", 2.0),
            ("nurse", 2.0),
        ],
        _ => &[
            ("nurse", 10.0),
            ("physician", 3.0),
            ("resident", 2.0),
            ("unit clerk", 1.5),
            ("charge nurse", 1.0),
            ("respiratory therapist", 0.5),
        ],
    }
}

/// A phone queue of the command center's help desk.
pub struct QueueSpec {
    pub name: &'static str,
    /// Calls offered per hour at the day-1 peak.
    pub peak_calls_per_hour: f64,
    /// Per-day decay of this queue's volume; password calls fade fastest.
    pub daily_decay: f64,
    /// Median talk time in seconds (clamped to 3–8 minutes).
    pub median_handle_seconds: f64,
    pub answer_target_seconds: u32,
    pub service_level_target: f64,
    /// Used to number agents ("a-17") so queues do not share agent ids.
    pub agent_base: u32,
    /// Mean time a caller holds on before hanging up (exponential).
    pub mean_patience_seconds: f64,
    /// The pre-go-live forecast the shifts were staffed from, as a share of
    /// the real peak: the nursing line was planned for 40 % of its calls
    /// and drowns every morning.
    pub forecast_accuracy: f64,
}

pub const QUEUES: &[QueueSpec] = &[
    QueueSpec {
        name: "Physician Line",
        peak_calls_per_hour: 40.0,
        daily_decay: 0.75,
        median_handle_seconds: 330.0,
        answer_target_seconds: 30,
        service_level_target: 0.8,
        agent_base: 0,
        mean_patience_seconds: 90.0,
        forecast_accuracy: 0.85,
    },
    QueueSpec {
        name: "Nursing Line",
        peak_calls_per_hour: 90.0,
        daily_decay: 0.75,
        median_handle_seconds: 300.0,
        answer_target_seconds: 20,
        service_level_target: 0.8,
        agent_base: 100,
        mean_patience_seconds: 300.0,
        forecast_accuracy: 0.4,
    },
    QueueSpec {
        name: "Access & Passwords",
        peak_calls_per_hour: 50.0,
        daily_decay: 0.65,
        median_handle_seconds: 210.0,
        answer_target_seconds: 60,
        service_level_target: 0.8,
        agent_base: 200,
        mean_patience_seconds: 240.0,
        forecast_accuracy: 0.9,
    },
];

const UNITS: &[&str] = &[
    "4 West",
    "5 East",
    "3 North",
    "6 South",
    "ICU pod B",
    "ED triage",
    "PACU",
    "L&D",
    "the infusion center",
];

const ORDER_SETS: &[&str] = &[
    "sepsis",
    "chest pain",
    "stroke alert",
    "DKA",
    "post-op hip",
    "community-acquired pneumonia",
    "heparin nomogram",
    "admission",
];

const FLOWSHEETS: &[&str] = &[
    "vital signs",
    "wound care",
    "restraints",
    "fall risk",
    "pain reassessment",
    "intake and output",
];

/// Summary templates for a category, with `{app}`, `{unit}`, `{order_set}`
/// and `{flowsheet}` placeholders. Application-specific how-to questions
/// come first when the application has them.
fn templates(category: Category, application: &str) -> &'static [&'static str] {
    match category {
        Category::HowTo => match application {
            "Orders" => &[
                "Cannot find order set for {order_set}",
                "How to sign held orders on transfer",
                "How to discontinue and reorder a continuous infusion",
                "Where to enter a verbal order for co-signature",
                "How to release signed and held orders in {unit}",
            ],
            "Clinical Documentation" => &[
                "How to document {flowsheet} in flowsheets",
                "Cannot find the admission navigator",
                "How to add a note template to favorites",
                "Where is the {flowsheet} flowsheet for {unit}",
            ],
            "MAR" => &[
                "How to document a held dose on the MAR",
                "How to scan a medication with a damaged barcode",
                "Where to chart a PRN reassessment",
                "How to document a titration on the MAR",
            ],
            "Pharmacy" => &[
                "How to verify an order from the pending queue",
                "How to build a custom IV mix",
                "Where to see the cabinet override report",
            ],
            "Lab" => &[
                "How to print specimen labels for a collection",
                "Where to see pending lab results",
                "How to add on a test to a collected specimen",
            ],
            "Radiology" => &[
                "How to reschedule an imaging exam",
                "How to protocol a CT order",
                "Where to see the radiology worklist for {unit}",
            ],
            "Scheduling" => &[
                "How to book a follow-up in a provider template",
                "How to overbook a clinic slot",
                "Where to find the wait list",
            ],
            "Registration/ADT" => &[
                "How to transfer a patient between units",
                "How to discharge to a skilled nursing facility",
                "How to place a bed request for {unit}",
            ],
            "Billing" => &[
                "How to attach a charge to an encounter",
                "Where to find the charge review work queue",
            ],
            _ => &["How to use {app} for a common task"],
        },
        Category::Access => &[
            "Account locked after password reset",
            "No access to {app} for new resident",
            "Missing security class in {app}",
            "Cannot log in on shared workstation in {unit}",
            "Badge tap login not working in {unit}",
            "Cannot see {unit} in department list",
        ],
        Category::Workflow => &[
            "Transfer orders not carrying over from ED to {unit}",
            "Discharge workflow missing med reconciliation step",
            "Orders routing to wrong pharmacy",
            "Nurse worklist not showing tasks for {unit}",
            "Co-sign requests going to wrong attending",
            "{app} task list not refreshing after handoff",
        ],
        Category::BreakFix => &[
            "{app} freezes when opening the chart",
            "Error on sign in {app}: unable to save",
            "Printer mapping wrong in {unit}",
            "Wristband printer not printing in {unit}",
            "{app} slow to load in {unit}",
            "Report in {app} returns an error",
        ],
        Category::Hardware => &[
            "Badge reader at nurse station {unit} not working",
            "Barcode scanner not pairing in {unit}",
            "Workstation on wheels battery dead in {unit}",
            "Monitor flickering at {unit} charting station",
            "Label printer jammed in {unit}",
        ],
        Category::Data => &[
            "Allergy list not converted from legacy system",
            "Home medications missing after conversion",
            "Wrong provider listed on care team",
            "Duplicate orders after conversion",
            "Future appointment missing after conversion",
        ],
        Category::Interface => &[
            "Lab results not crossing to {app}",
            "Radiology orders not reaching PACS",
            "Infusion pump integration not showing rates in {unit}",
            "ADT messages delayed to {app}",
            "Dispensing cabinet not receiving orders",
        ],
        Category::Other => &[
            "Request for extra training session for {unit}",
            "Question about downtime procedure",
            "Feedback on {app} tip sheet",
            "Need super user contact for {unit}",
        ],
    }
}

/// Fills a summary template; `pick` chooses an index below its argument.
pub fn summary(
    category: Category,
    application: &str,
    mut pick: impl FnMut(usize) -> usize,
) -> String {
    let list = templates(category, application);
    let template = list[pick(list.len())];
    let mut text = template.replace("{app}", application);
    if text.contains("{unit}") {
        text = text.replace("{unit}", UNITS[pick(UNITS.len())]);
    }
    if text.contains("{order_set}") {
        text = text.replace("{order_set}", ORDER_SETS[pick(ORDER_SETS.len())]);
    }
    if text.contains("{flowsheet}") {
        text = text.replace("{flowsheet}", FLOWSHEETS[pick(FLOWSHEETS.len())]);
    }
    text
}

/// The analyst group a ticket in `application` escalates to.
pub fn analyst_team(application: &str) -> &'static str {
    match application {
        "Orders" => "orders-analysts",
        "Clinical Documentation" => "clindoc-analysts",
        "MAR" | "Pharmacy" => "pharmacy-analysts",
        "Lab" => "lab-analysts",
        "Radiology" => "radiology-analysts",
        "Scheduling" | "Registration/ADT" => "access-analysts",
        "Billing" => "revenue-analysts",
        _ => "tier2",
    }
}

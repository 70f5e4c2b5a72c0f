//! Checks of the deployment files without a container engine (issues #6
//! and #12): the Grafana dashboards and their provisioning,
//! deploy/docker-compose.yml (several golive replicas behind HAProxy), the
//! HAProxy configuration, the Kubernetes manifests (3 replicas, a
//! PodDisruptionBudget, probes, a NetworkPolicy), the Dockerfile, the
//! systemd unit and the Prometheus configurations are parsed and
//! cross-checked against each other and against golive itself (its config
//! type, its routes and its port).
//!
//! Where the real tools are installed they run too: hadolint and checkov
//! (the field's linters; `.ci/run` installs them from PyPI, and in CI a
//! missing one fails), `haproxy -c`, and a real HAProxy with this
//! repository's configuration in front of two golive replicas on one
//! PostgreSQL database and one that is not ready: health checks on
//! /readyz, requests spread over the replicas, the live WebSocket passed
//! through, a replica killed under it (requests retried on the other, the
//! socket reconnects to the other), the proxy's own health check. The
//! PromQL inside the files is evaluated by tests/prometheus.rs.

mod support;

use futures::StreamExt;
use golive_server::ServerConfig;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::metrics::Metrics;
use support::{ADMIN_TOKEN, Backend, Server, TestDb, eventually, skip_postgres};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn yaml(relative: &str) -> Yaml {
    serde_norway::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every document of a (possibly multi-document) YAML file.
fn yaml_documents(relative: &str) -> Vec<Yaml> {
    let text = read(relative);
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Yaml::deserialize(doc).unwrap_or_else(|e| panic!("{relative}: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn s<'a>(value: &'a Yaml, path: &[&str]) -> &'a str {
    get(value, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string in {value:?}"))
}

fn get<'a>(value: &'a Yaml, path: &[&str]) -> &'a Yaml {
    let mut current = value;
    for key in path {
        current = current
            .get(*key)
            .unwrap_or_else(|| panic!("missing {key:?} (of {path:?})"));
    }
    current
}

fn seq(value: &Yaml) -> &Vec<Yaml> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
}

/// golive's configuration type accepts the TOML and its checks pass.
fn assert_golive_config(text: &str, origin: &str) -> ServerConfig {
    let config: ServerConfig =
        toml::from_str(text).unwrap_or_else(|e| panic!("{origin}: not golive's config: {e}"));
    config
        .validate()
        .unwrap_or_else(|e| panic!("{origin}: golive rejects it: {e}"));
    config
}

// ------------------------------------------------------------ dashboards

fn dashboard_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("dashboards"))
        .expect("dashboards/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Every panel, including those inside rows.
fn all_panels(dashboard: &Json) -> Vec<&Json> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        out.push(panel);
        for inner in panel["panels"].as_array().into_iter().flatten() {
            out.push(inner);
        }
    }
    out
}

#[test]
fn dashboards_are_provisionable() {
    let files = dashboard_files();
    let names: BTreeSet<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .collect();
    for wanted in [
        "golive-overview.json",
        "golive-calls.json",
        "golive-service.json",
    ] {
        assert!(names.contains(wanted), "dashboards/{wanted} is missing");
    }
    let mut uids = BTreeSet::new();
    for file in &files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).expect("read");
        let dashboard: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Exported-for-sharing dashboards need an import step; provisioning
        // cannot fill `__inputs`.
        assert!(dashboard.get("__inputs").is_none(), "{name}: __inputs");
        assert!(!text.contains("${DS_"), "{name}: ${{DS_…}} reference");
        let uid = dashboard["uid"].as_str().unwrap_or_default();
        assert!(
            !uid.is_empty() && uid.len() <= 40,
            "{name}: uid {uid:?} (1..40 chars)"
        );
        assert!(uids.insert(uid.to_string()), "{name}: duplicate uid {uid}");
        assert!(
            dashboard["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: title"
        );
        assert!(
            dashboard["description"]
                .as_str()
                .is_some_and(|t| t.len() > 20),
            "{name}: a description saying what the dashboard is for"
        );
        let schema = dashboard["schemaVersion"].as_u64().unwrap_or(0);
        assert!(schema >= 39, "{name}: schemaVersion {schema} < 39");

        let variables = dashboard["templating"]["list"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: templating.list"));
        let datasource = variables
            .iter()
            .find(|v| v["name"] == "datasource")
            .unwrap_or_else(|| panic!("{name}: no `datasource` variable"));
        assert_eq!(datasource["type"], "datasource", "{name}");
        assert_eq!(datasource["query"], "prometheus", "{name}");
        for variable in variables.iter().filter(|v| v["type"] == "query") {
            assert_eq!(
                variable["datasource"]["uid"], "${datasource}",
                "{name}: variable {} must query through ${{datasource}}",
                variable["name"]
            );
        }

        let panels = all_panels(&dashboard);
        assert!(panels.len() >= 8, "{name}: only {} panels", panels.len());
        let mut ids = BTreeSet::new();
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("?");
            let id = panel["id"].as_u64().expect("panel id");
            assert!(ids.insert(id), "{name}: duplicate panel id {id}");
            let grid = &panel["gridPos"];
            let (x, w) = (grid["x"].as_u64(), grid["w"].as_u64());
            assert!(
                matches!((x, w), (Some(x), Some(w)) if w > 0 && x + w <= 24)
                    && grid["h"].as_u64().is_some_and(|h| h > 0)
                    && grid["y"].as_u64().is_some(),
                "{name}/{title}: gridPos {grid}"
            );
            if panel["type"] == "row" {
                continue;
            }
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{name}/{title}: panel datasource"
            );
            assert_eq!(panel["datasource"]["type"], "prometheus", "{name}/{title}");
            let targets = panel["targets"]
                .as_array()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| panic!("{name}/{title}: no targets"));
            let mut ref_ids = BTreeSet::new();
            for target in targets {
                assert_eq!(
                    target["datasource"]["uid"], "${datasource}",
                    "{name}/{title}: target datasource"
                );
                let ref_id = target["refId"].as_str().unwrap_or_default();
                assert!(
                    !ref_id.is_empty() && ref_ids.insert(ref_id.to_string()),
                    "{name}/{title}: refId {ref_id:?}"
                );
                assert!(
                    target["expr"].as_str().is_some_and(|e| e.contains("golive")
                        || e.contains("up{")
                        || e.contains("scrape_")
                        || e.contains("process_")),
                    "{name}/{title}: expr {}",
                    target["expr"]
                );
            }
        }
    }
}

#[test]
fn grafana_provisioning_matches_the_compose_mounts() {
    let datasources = yaml("dashboards/provisioning/datasources/prometheus.yml");
    assert_eq!(get(&datasources, &["apiVersion"]).as_u64(), Some(1));
    let list = seq(get(&datasources, &["datasources"]));
    let prometheus = list
        .iter()
        .find(|d| s(d, &["type"]) == "prometheus")
        .expect("a prometheus datasource");
    assert_eq!(
        s(prometheus, &["url"]),
        "http://prometheus:9090",
        "the compose service name and port"
    );
    assert_eq!(get(prometheus, &["isDefault"]).as_bool(), Some(true));

    let providers = yaml("dashboards/provisioning/dashboards/golive.yml");
    let provider = &seq(get(&providers, &["providers"]))[0];
    assert_eq!(s(provider, &["type"]), "file");
    let path = s(provider, &["options", "path"]);

    // Compose mounts this repository's dashboards/ exactly where the
    // provider reads, and the provisioning directory where Grafana looks.
    let compose = yaml("deploy/docker-compose.yml");
    let volumes: Vec<&str> = seq(get(&compose, &["services", "grafana", "volumes"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(
        volumes
            .iter()
            .any(|v| v.starts_with(&format!("../dashboards:{path}"))),
        "grafana mounts ../dashboards at {path}: {volumes:?}"
    );
    assert!(
        volumes
            .iter()
            .any(|v| v.starts_with("../dashboards/provisioning:/etc/grafana/provisioning")),
        "grafana mounts the provisioning directory: {volumes:?}"
    );
}

// ------------------------------------------------------------ compose

#[test]
fn compose_runs_golive_on_postgres_with_prometheus_and_grafana() {
    let compose = yaml("deploy/docker-compose.yml");
    let services = get(&compose, &["services"]);
    for name in ["golive", "lb", "postgres", "prometheus", "grafana"] {
        let service = services
            .get(name)
            .unwrap_or_else(|| panic!("service {name} missing"));
        let test = seq(get(service, &["healthcheck", "test"]));
        assert!(!test.is_empty(), "{name}: healthcheck test");
        // Every bind mount's host side exists in the repository.
        for volume in service
            .get("volumes")
            .and_then(Yaml::as_sequence)
            .into_iter()
            .flatten()
        {
            let spec = volume.as_str().expect("short volume syntax");
            let host = spec.split(':').next().unwrap_or_default();
            if host.starts_with('.') {
                let path = root().join("deploy").join(host);
                assert!(path.exists(), "{name}: {spec}: {} missing", path.display());
            } else {
                let declared = get(&compose, &["volumes"]);
                assert!(
                    declared.get(host).is_some(),
                    "{name}: named volume {host} is not declared"
                );
            }
        }
    }

    let golive = get(services, &["golive"]);
    assert_eq!(s(golive, &["build", "context"]), "..");
    let dockerfile = s(golive, &["build", "dockerfile"]);
    assert!(
        root().join(dockerfile).exists(),
        "{dockerfile} (relative to the build context)"
    );
    let url = s(golive, &["environment", "GOLIVE_DATABASE_URL"]);
    assert!(
        url.starts_with("postgres://") && url.contains("@postgres:5432/"),
        "golive uses the postgres service: {url}"
    );
    assert!(
        get(golive, &["environment"])
            .get("GOLIVE_ADMIN_TOKEN")
            .is_some()
    );
    assert_eq!(
        s(golive, &["depends_on", "postgres", "condition"]),
        "service_healthy"
    );
    let health = seq(get(golive, &["healthcheck", "test"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        health.contains("http://127.0.0.1:8080/readyz")
            || health.contains("http://127.0.0.1:8080/healthz"),
        "golive healthcheck probes golive: {health}"
    );
    let command: Vec<&str> = seq(get(golive, &["command"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(&command[..3], ["serve", "--listen", "0.0.0.0:8080"]);
    let config_at = command
        .iter()
        .position(|a| *a == "--config")
        .map(|i| command[i + 1])
        .expect("--config");
    let mounted = seq(get(golive, &["volumes"]))
        .iter()
        .filter_map(Yaml::as_str)
        .find(|v| v.split(':').nth(1) == Some(config_at))
        .expect("the config file is mounted");
    let host = mounted.split(':').next().unwrap_or_default();
    let text = std::fs::read_to_string(root().join("deploy").join(host)).expect("config");
    assert_golive_config(&text, host);

    // Prometheus: its config and rules are mounted, and it scrapes the
    // golive service on the port golive listens on.
    let prometheus = get(services, &["prometheus"]);
    let mount = seq(get(prometheus, &["volumes"]))
        .iter()
        .filter_map(Yaml::as_str)
        .find(|v| v.contains(":/etc/prometheus"))
        .expect("prometheus config mount");
    assert!(mount.starts_with("./prometheus:"), "{mount}");
    let config = yaml("deploy/prometheus/prometheus.yml");
    for rule_file in seq(get(&config, &["rule_files"])) {
        let rule_file = rule_file.as_str().expect("rule file");
        assert!(
            root().join("deploy/prometheus").join(rule_file).exists(),
            "{rule_file} next to prometheus.yml"
        );
    }
    let job = seq(get(&config, &["scrape_configs"]))
        .iter()
        .find(|j| s(j, &["job_name"]) == "golive")
        .expect("a scrape job named golive (the dashboards' default job)");
    // Every replica is a target: Docker's DNS gives one A record per
    // replica of the `golive` service.
    assert!(
        job.get("static_configs").is_none(),
        "a static target would reach one replica at random"
    );
    let dns = &seq(get(job, &["dns_sd_configs"]))[0];
    let names: Vec<&str> = seq(get(dns, &["names"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(names, ["golive"], "the compose service's DNS name");
    assert_eq!(s(dns, &["type"]), "A");
    assert_eq!(get(dns, &["port"]).as_u64(), Some(8080));
    assert_eq!(
        job.get("metrics_path")
            .and_then(Yaml::as_str)
            .unwrap_or("/metrics"),
        "/metrics"
    );
}

/// The multi-replica shape: 2 or more golive replicas, reachable only
/// through HAProxy, which health-checks each on /readyz, passes the live
/// WebSocket through with a long tunnel timeout and retries a request on
/// another replica when one is gone.
#[test]
fn compose_puts_several_replicas_behind_a_health_checked_load_balancer() {
    let compose = yaml("deploy/docker-compose.yml");
    let services = get(&compose, &["services"]);
    let golive = get(services, &["golive"]);
    let replicas = get(golive, &["deploy", "replicas"])
        .as_u64()
        .expect("deploy.replicas");
    assert!(replicas >= 2, "{replicas} golive replicas");
    assert!(
        golive.get("ports").is_none() && golive.get("container_name").is_none(),
        "replicas publish no host port and have no fixed name (they are reached through the LB)"
    );
    let health = seq(get(golive, &["healthcheck", "test"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(health.contains("/readyz"), "{health}");

    let lb = get(services, &["lb"]);
    assert!(s(lb, &["image"]).starts_with("haproxy:"), "HAProxy");
    let ports: Vec<&str> = seq(get(lb, &["ports"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(
        ports,
        ["127.0.0.1:8080:8080"],
        "the LB publishes golive's port"
    );
    let mount = seq(get(lb, &["volumes"]))
        .iter()
        .filter_map(Yaml::as_str)
        .find(|v| v.contains("haproxy.cfg"))
        .expect("haproxy.cfg mounted");
    assert_eq!(
        mount,
        "./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"
    );
    assert_eq!(
        s(lb, &["depends_on", "golive", "condition"]),
        "service_started"
    );

    let cfg = haproxy_sections(&read("deploy/haproxy/haproxy.cfg"));
    let frontend = &cfg["frontend golive"];
    assert!(frontend.iter().any(|l| l == "bind :8080"), "{frontend:?}");
    assert!(frontend.iter().any(|l| l == "default_backend golive"));
    let backend = &cfg["backend golive"];
    for line in [
        "balance leastconn",
        "option httpchk",
        "http-check expect status 200",
    ] {
        assert!(backend.iter().any(|l| l == line), "backend lacks {line:?}");
    }
    assert!(
        backend
            .iter()
            .any(|l| l.starts_with("http-check send meth GET uri /readyz")),
        "the health check is GET /readyz: {backend:?}"
    );
    let default_server = backend
        .iter()
        .find(|l| l.starts_with("default-server "))
        .expect("default-server");
    assert!(
        default_server.contains("on-marked-down shutdown-sessions"),
        "a replica taken out drops its sockets, so boards move: {default_server}"
    );
    let template: Vec<&str> = backend
        .iter()
        .find(|l| l.starts_with("server-template "))
        .expect("server-template")
        .split_whitespace()
        .collect();
    let slots: u64 = template[2].parse().expect("slot count");
    assert!(slots >= replicas, "{slots} slots for {replicas} replicas");
    assert_eq!(template[3], "golive:8080", "the compose service and port");
    assert!(template.contains(&"check"), "{template:?}");
    let resolvers = template
        .iter()
        .position(|w| *w == "resolvers")
        .map(|i| template[i + 1])
        .expect("resolvers");
    assert!(
        cfg.contains_key(&format!("resolvers {resolvers}")),
        "resolvers {resolvers} is defined"
    );
    let defaults = &cfg["defaults"];
    for line in ["mode http", "option redispatch 1"] {
        assert!(defaults.iter().any(|l| l == line), "defaults lack {line:?}");
    }
    let timeout = |name: &str| -> Duration {
        defaults
            .iter()
            .find_map(|l| l.strip_prefix(&format!("timeout {name} ")))
            .map(haproxy_duration)
            .unwrap_or_else(|| panic!("timeout {name}"))
    };
    assert!(
        timeout("tunnel") >= Duration::from_secs(3600),
        "live sockets may stay open for hours"
    );
    assert!(timeout("client") >= Duration::from_secs(30));
    assert!(timeout("server") >= Duration::from_secs(30));
    assert!(timeout("connect") <= Duration::from_secs(5));

    // HAProxy's own check of the file, where it is installed.
    if let Some(haproxy) = haproxy_binary() {
        let out = Command::new(&haproxy)
            .args(["-c", "-f"])
            .arg(root().join("deploy/haproxy/haproxy.cfg"))
            .output()
            .expect("haproxy -c");
        assert!(
            out.status.success(),
            "haproxy -c: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// An HAProxy configuration file: section header → its lines (trimmed,
/// comments dropped).
fn haproxy_sections(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        let content = line.split('#').next().unwrap_or_default();
        if content.trim().is_empty() {
            continue;
        }
        if !content.starts_with(char::is_whitespace) {
            current = content.trim().to_string();
            sections.entry(current.clone()).or_default();
        } else {
            sections
                .entry(current.clone())
                .or_default()
                .push(content.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    sections
}

/// HAProxy's time format: a number with us, ms, s, m, h or d (ms when bare).
fn haproxy_duration(text: &str) -> Duration {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().unwrap_or_else(|_| panic!("time {text}"));
    match &text[digits.len()..] {
        "us" => Duration::from_micros(n),
        "" | "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        other => panic!("time unit {other} in {text}"),
    }
}

// ------------------------------------------------------------ kubernetes

#[test]
fn kubernetes_manifests_fit_together() {
    let mut objects: BTreeMap<String, Yaml> = BTreeMap::new();
    let dir = root().join("deploy/k8s");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("deploy/k8s")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    files.sort();
    for file in &files {
        for doc in yaml_documents(&format!("deploy/k8s/{file}")) {
            let kind = s(&doc, &["kind"]).to_string();
            if kind == "Kustomization" {
                let listed: BTreeSet<&str> = seq(get(&doc, &["resources"]))
                    .iter()
                    .filter_map(Yaml::as_str)
                    .collect();
                let others: BTreeSet<&str> = files
                    .iter()
                    .map(String::as_str)
                    .filter(|f| *f != file)
                    .collect();
                assert_eq!(listed, others, "kustomization lists every manifest");
                continue;
            }
            let api = s(&doc, &["apiVersion"]);
            assert!(api == "v1" || api.ends_with("/v1"), "{kind}: {api}");
            let previous = objects.insert(kind.clone(), doc);
            assert!(previous.is_none(), "two {kind} objects");
        }
    }
    for kind in [
        "Namespace",
        "Deployment",
        "Service",
        "ConfigMap",
        "Secret",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(objects.contains_key(kind), "no {kind} in deploy/k8s");
    }
    // Everything in golive's own namespace, not `default`.
    let namespace = s(&objects["Namespace"], &["metadata", "name"]).to_string();
    for (kind, object) in &objects {
        if kind != "Namespace" {
            assert_eq!(
                s(object, &["metadata", "namespace"]),
                namespace,
                "{kind} namespace"
            );
        }
    }
    let deployment = &objects["Deployment"];
    let service = &objects["Service"];
    let config_map = &objects["ConfigMap"];
    let secret = &objects["Secret"];
    assert_eq!(s(deployment, &["apiVersion"]), "apps/v1");

    let pod = get(deployment, &["spec", "template"]);
    let pod_labels = get(pod, &["metadata", "labels"]);
    let selector = get(deployment, &["spec", "selector", "matchLabels"]);
    for (key, value) in selector.as_mapping().expect("matchLabels") {
        assert_eq!(pod_labels.get(key), Some(value), "selector {key:?}");
    }
    for (key, value) in get(service, &["spec", "selector"])
        .as_mapping()
        .expect("service selector")
    {
        assert_eq!(pod_labels.get(key), Some(value), "service selector {key:?}");
    }
    assert_eq!(
        get(pod, &["spec", "securityContext", "runAsNonRoot"]).as_bool(),
        Some(true)
    );

    // Several replicas, rolled one at a time without losing capacity, kept
    // through drains by the PodDisruptionBudget.
    let replicas = get(deployment, &["spec", "replicas"]).as_u64();
    assert_eq!(replicas, Some(3), "replicas");
    assert_eq!(
        s(deployment, &["spec", "strategy", "type"]),
        "RollingUpdate"
    );
    assert_eq!(
        get(
            deployment,
            &["spec", "strategy", "rollingUpdate", "maxUnavailable"]
        )
        .as_u64(),
        Some(0),
        "a rollout never goes below 3 ready replicas"
    );
    let pdb = &objects["PodDisruptionBudget"];
    assert_eq!(s(pdb, &["apiVersion"]), "policy/v1");
    for (key, value) in get(pdb, &["spec", "selector", "matchLabels"])
        .as_mapping()
        .expect("pdb selector")
    {
        assert_eq!(pod_labels.get(key), Some(value), "PDB selector {key:?}");
    }
    let min_available = get(pdb, &["spec", "minAvailable"])
        .as_u64()
        .expect("minAvailable");
    assert!(
        (2..3).contains(&min_available),
        "minAvailable {min_available}: 2 keep serving, 1 may be drained"
    );
    let policy = &objects["NetworkPolicy"];
    for (key, value) in get(policy, &["spec", "podSelector", "matchLabels"])
        .as_mapping()
        .expect("policy selector")
    {
        assert_eq!(pod_labels.get(key), Some(value), "NetworkPolicy {key:?}");
    }
    let rule_ports = |direction: &str| -> Vec<Yaml> {
        seq(get(policy, &["spec", direction]))
            .iter()
            .flat_map(|rule| seq(get(rule, &["ports"])).clone())
            .map(|p| get(&p, &["port"]).clone())
            .collect()
    };

    let containers = seq(get(pod, &["spec", "containers"]));
    let container = containers
        .iter()
        .find(|c| s(c, &["name"]) == "golive")
        .expect("a golive container");
    let ports = seq(get(container, &["ports"]));
    let port = &ports[0];
    let port_number = get(port, &["containerPort"]).as_u64().expect("port");
    let port_name = port.get("name").and_then(Yaml::as_str);
    let refers_to_port = |value: &Yaml| {
        value.as_u64() == Some(port_number)
            || (value.as_str().is_some() && value.as_str() == port_name)
    };
    let args: Vec<&str> = seq(get(container, &["args"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(args[0], "serve");
    let listen = args
        .iter()
        .position(|a| *a == "--listen")
        .map(|i| args[i + 1])
        .expect("--listen");
    assert_eq!(listen, format!("0.0.0.0:{port_number}"));

    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        assert_eq!(s(container, &[probe, "httpGet", "path"]), path, "{probe}");
        assert!(
            refers_to_port(get(container, &[probe, "httpGet", "port"])),
            "{probe} targets the container port"
        );
    }
    assert!(refers_to_port(get(
        &seq(get(service, &["spec", "ports"]))[0],
        &["targetPort"]
    )));
    assert!(
        rule_ports("ingress").iter().any(refers_to_port),
        "the NetworkPolicy lets traffic reach the container port"
    );
    let egress = rule_ports("egress");
    for port in [53, 5432] {
        assert!(
            egress.iter().any(|p| p.as_u64() == Some(port)),
            "egress to port {port}"
        );
    }
    assert!(
        get(container, &["resources", "limits"])
            .get("cpu")
            .is_some()
            && get(container, &["resources", "limits"])
                .get("memory")
                .is_some(),
        "CPU and memory limits"
    );
    // Prometheus on Kubernetes discovers every pod of this Deployment.
    let scrape = yaml("deploy/prometheus/prometheus-kubernetes.yml");
    let job = seq(get(&scrape, &["scrape_configs"]))
        .iter()
        .find(|j| s(j, &["job_name"]) == "golive")
        .expect("job golive");
    let sd = &seq(get(job, &["kubernetes_sd_configs"]))[0];
    assert_eq!(s(sd, &["role"]), "pod");
    let namespaces: Vec<&str> = seq(get(sd, &["namespaces", "names"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(namespaces, [namespace.as_str()]);
    let selector = s(&seq(get(sd, &["selectors"]))[0], &["label"]);
    let (key, value) = selector.split_once('=').expect("label selector");
    assert_eq!(pod_labels.get(key).and_then(Yaml::as_str), Some(value));
    let relabel = seq(get(job, &["relabel_configs"]));
    let keep_port = relabel
        .iter()
        .find(|r| {
            seq(get(r, &["source_labels"]))
                .iter()
                .any(|l| l.as_str() == Some("__meta_kubernetes_pod_container_port_name"))
        })
        .expect("a relabel rule on the port name");
    assert_eq!(s(keep_port, &["action"]), "keep");
    assert_eq!(
        s(keep_port, &["regex"]),
        format!("golive;{}", port_name.expect("a named port"))
    );
    assert!(
        relabel.iter().any(
            |r| r.get("target_label").and_then(Yaml::as_str) == Some("instance")
                && seq(get(r, &["source_labels"]))[0].as_str()
                    == Some("__meta_kubernetes_pod_name")
        ),
        "instance names the pod"
    );
    assert!(
        relabel
            .iter()
            .filter_map(|r| r.get("target_label").and_then(Yaml::as_str))
            .all(|l| l == "instance"),
        "no per-pod label but instance (the rules' `max without(instance)`)"
    );

    // The Secret provides both values golive reads, as files (NAME_FILE
    // names the mounted key), never as environment variables.
    let secret_name = s(secret, &["metadata", "name"]);
    assert!(
        container.get("envFrom").is_none(),
        "no environment from a Secret"
    );
    let env = seq(get(container, &["env"]));
    assert!(
        env.iter().all(|e| e
            .get("valueFrom")
            .and_then(|v| v.get("secretKeyRef"))
            .is_none()),
        "no secretKeyRef in env"
    );
    let secret_volume = seq(get(pod, &["spec", "volumes"]))
        .iter()
        .find(|v| v.get("secret").map(|sv| s(sv, &["secretName"])) == Some(secret_name))
        .expect("the Secret is a volume");
    let secret_mount = seq(get(container, &["volumeMounts"]))
        .iter()
        .find(|m| s(m, &["name"]) == s(secret_volume, &["name"]))
        .expect("the Secret volume is mounted");
    assert_eq!(get(secret_mount, &["readOnly"]).as_bool(), Some(true));
    let secret_dir = s(secret_mount, &["mountPath"]);
    let secret_data = secret
        .get("stringData")
        .or_else(|| secret.get("data"))
        .expect("secret data");
    for key in ["GOLIVE_ADMIN_TOKEN", "GOLIVE_DATABASE_URL"] {
        assert!(secret_data.get(key).is_some(), "Secret lacks {key}");
        let file = env
            .iter()
            .find(|e| s(e, &["name"]) == format!("{key}_FILE"))
            .map(|e| s(e, &["value"]))
            .unwrap_or_else(|| panic!("env {key}_FILE"));
        assert_eq!(file, format!("{secret_dir}/{key}"), "{key}_FILE");
    }
    if let Some(url) = secret
        .get("stringData")
        .map(|d| s(d, &["GOLIVE_DATABASE_URL"]))
    {
        assert!(url.starts_with("postgres://"), "{url}");
    }

    // The ConfigMap is golive's config, mounted where --config points.
    let config_at = args
        .iter()
        .position(|a| *a == "--config")
        .map(|i| args[i + 1])
        .expect("--config");
    let (dir, file) = config_at.rsplit_once('/').expect("absolute config path");
    let text = s(config_map, &["data", file]);
    assert_golive_config(text, "ConfigMap golive-config");
    let same: toml::Value = toml::from_str(&read("deploy/config/golive.toml")).expect("toml");
    assert_eq!(
        toml::from_str::<toml::Value>(text).expect("toml"),
        same,
        "the ConfigMap carries deploy/config/golive.toml"
    );
    let mount = seq(get(container, &["volumeMounts"]))
        .iter()
        .find(|m| s(m, &["mountPath"]) == dir)
        .unwrap_or_else(|| panic!("nothing mounted at {dir}"));
    let volume = seq(get(pod, &["spec", "volumes"]))
        .iter()
        .find(|v| s(v, &["name"]) == s(mount, &["name"]))
        .expect("the mounted volume");
    assert_eq!(
        s(volume, &["configMap", "name"]),
        s(config_map, &["metadata", "name"])
    );
}

// ------------------------------------------------------------ Dockerfile

#[test]
fn dockerfile_builds_the_readme_binary() {
    let text = read("deploy/Dockerfile");
    assert!(text.starts_with('#'), "starts with a comment");
    // Instructions with their continuation lines joined.
    let mut instructions: Vec<String> = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(trimmed);
            instructions.push(std::mem::take(&mut pending));
        }
    }
    let words = |i: &str| i.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let froms: Vec<&String> = instructions
        .iter()
        .filter(|i| i.starts_with("FROM "))
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(
        froms[0].contains("rust:"),
        "the builder is a Rust image: {}",
        froms[0]
    );
    let build_stage: Vec<&String> = instructions
        .iter()
        .skip_while(|i| !i.starts_with("FROM "))
        .take_while(|i| *i == froms[0] || !i.starts_with("FROM "))
        .collect();
    // The README's (and the contract's) build command, as is.
    let builds = build_stage.iter().any(|i| {
        i.starts_with("RUN ")
            && i[4..]
                .split("&&")
                .any(|c| words(c) == ["cargo", "build", "--release"])
    });
    assert!(builds, "the builder runs `cargo build --release`");
    assert!(
        build_stage
            .iter()
            .any(|i| i.contains("target/release/golive")),
        "the builder takes target/release/golive"
    );
    // The README builds with the release profile too (`cargo build
    // --release`, or `cargo run --release`, which builds the same
    // target/release/golive).
    let readme = root().join("README.md");
    if readme.exists() {
        let readme = std::fs::read_to_string(readme).expect("README");
        assert!(
            readme.contains("cargo build --release") || readme.contains("cargo run --release"),
            "the README builds target/release/golive"
        );
    }

    let runtime: Vec<&String> = instructions
        .iter()
        .skip_while(|i| *i != *froms.last().expect("from"))
        .collect();
    assert!(
        runtime
            .iter()
            .any(|i| i.starts_with("COPY --from=") && i.contains("golive")),
        "the runtime copies the binary from the builder"
    );
    let user = runtime
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix("USER "))
        .expect("a USER in the runtime stage");
    let user = user.split(':').next().unwrap_or_default().trim();
    assert!(user != "root" && user != "0", "non-root user: {user}");
    assert!(runtime.iter().any(|i| words(i) == ["EXPOSE", "8080"]));
    let json_words = |prefix: &str| -> Vec<String> {
        runtime
            .iter()
            .rev()
            .find_map(|i| i.strip_prefix(prefix))
            .map(|rest| serde_json::from_str(rest).expect("exec form"))
            .unwrap_or_default()
    };
    let mut command = json_words("ENTRYPOINT ");
    command.extend(json_words("CMD "));
    assert!(
        command.first().is_some_and(|c| c.ends_with("golive")),
        "{command:?}"
    );
    assert_eq!(&command[1..], ["serve", "--listen", "0.0.0.0:8080"]);

    let ignore = read(".dockerignore");
    assert!(
        ignore
            .lines()
            .any(|l| l.trim().trim_end_matches('/') == "target"),
        ".dockerignore keeps target/ out of the build context"
    );
}

// ------------------------------------------------------------ systemd

#[test]
fn systemd_unit_is_hardened() {
    let text = read("deploy/systemd/golive.service");
    let mut section = String::new();
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).to_string();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value");
        keys.entry(format!("{section}.{key}"))
            .or_default()
            .push(value.to_string());
    }
    let one = |key: &str| -> &str {
        keys.get(key)
            .and_then(|v| v.last())
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{key} missing"))
    };
    let exec: Vec<&str> = one("Service.ExecStart").split_whitespace().collect();
    assert!(exec[0].starts_with('/') && exec[0].ends_with("/golive"));
    assert_eq!(exec[1], "serve");
    assert!(exec.contains(&"--listen"));
    assert!(
        one("Service.DynamicUser") == "yes" || keys.contains_key("Service.User"),
        "runs unprivileged"
    );
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictNamespaces", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
        ("SystemCallArchitectures", "native"),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(one(&format!("Service.{key}")), value, "{key}");
    }
    assert!(
        keys["Service.SystemCallFilter"].contains(&"@system-service".to_string()),
        "SystemCallFilter=@system-service"
    );
    assert_eq!(one("Install.WantedBy"), "multi-user.target");

    // systemd's own checker, where the machine has it (Debian's systemd
    // package does), with ExecStart pointed at the binary under test.
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if analyze.exists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let unit = dir.path().join("golive.service");
        std::fs::write(
            &unit,
            text.replace("/usr/local/bin/golive", env!("CARGO_BIN_EXE_golive")),
        )
        .expect("write unit");
        let out = std::process::Command::new(analyze)
            .arg("verify")
            .arg(&unit)
            .output()
            .expect("systemd-analyze");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("golive.service"),
            "systemd-analyze verify: {stderr}"
        );
    } else {
        eprintln!("systemd-analyze not installed: the unit was checked by key only");
    }
}

// ------------------------------------------------------------ alert thresholds

/// The comparisons of a PromQL expression with a number: (operator, number).
fn comparisons(expr: &str) -> Vec<(String, f64)> {
    let tokens: Vec<&str> = expr.split_whitespace().collect();
    tokens
        .windows(2)
        .filter(|w| [">", ">=", "<", "<="].contains(&w[0]))
        .filter_map(|w| w[1].parse::<f64>().ok().map(|n| (w[0].to_string(), n)))
        .collect()
}

/// The Prometheus alerting rules shipped in deploy/prometheus/rules.yml
/// page at the thresholds of golive's own `[alerts]` (the deploy config,
/// which states the defaults): the board's alerts, its colours and
/// Prometheus agree on what is bad.
#[test]
fn prometheus_alert_thresholds_follow_the_alerts_config() {
    let config = assert_golive_config(
        &read("deploy/config/golive.toml"),
        "deploy/config/golive.toml",
    );
    let rules = config.alerts;
    assert_eq!(
        rules,
        golive_core::alerts::AlertRules::default(),
        "deploy/config/golive.toml states the [alerts] defaults"
    );
    let doc = yaml("deploy/prometheus/rules.yml");
    let expr = |name: &str| -> String {
        seq(get(&doc, &["groups"]))
            .iter()
            .flat_map(|group| seq(get(group, &["rules"])))
            .find(|rule| rule.get("alert").and_then(Yaml::as_str) == Some(name))
            .map(|rule| s(rule, &["expr"]).to_string())
            .unwrap_or_else(|| panic!("no alert {name} in rules.yml"))
    };
    let min_calls = rules.min_calls as f64;
    for (alert, above) in [
        ("GoliveAbandonmentHigh", rules.abandonment_rate_above),
        ("GoliveASAHigh", rules.asa_seconds_above),
    ] {
        let found = comparisons(&expr(alert));
        assert!(
            found.contains(&(">".into(), above)),
            "{alert}: {found:?}, [alerts] says above {above}"
        );
        assert!(
            found.contains(&(">=".into(), min_calls)),
            "{alert}: {found:?}, [alerts] says at least {min_calls} calls"
        );
    }
    let understaffed = comparisons(&expr("GoliveQueueUnderstaffed"));
    assert!(
        understaffed.contains(&(">=".into(), f64::from(rules.understaffed_by))),
        "GoliveQueueUnderstaffed: {understaffed:?}"
    );
    assert!(
        comparisons(&expr("GoliveSev1Open")).contains(&(">".into(), 0.0)),
        "any open severity-1 ticket"
    );
}

// ------------------------------------------------------------ linters

/// The checkov checks waived in the deploy files, each with its reason
/// there (a skip annotation or comment) and in docs/deploy.md.
const CHECKOV_WAIVERS: &[&str] = &["CKV_K8S_43", "CKV_SECRET_4", "CKV_SECRET_6"];

/// A linter from `GOLIVE_<NAME>`, PATH, or the virtualenv `.ci/run`
/// installs (`GOLIVE_LINT_VENV`, default ~/.cache/golive/lint-venv).
/// Missing: `None`, or a failure in CI (`CI` set), where `.ci/run`
/// installs it.
fn linter(name: &str) -> Option<PathBuf> {
    let variable = format!("GOLIVE_{}", name.to_uppercase());
    if let Some(path) = std::env::var_os(&variable).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let venv = std::env::var_os("GOLIVE_LINT_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/golive/lint-venv"))
        });
    let mut dirs: Vec<PathBuf> = venv.map(|v| v.join("bin")).into_iter().collect();
    if let Some(paths) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&paths));
    }
    let found = dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file());
    if found.is_none() {
        let message = format!(
            "{name} not found (set {variable}, or run .ci/run, which installs it from PyPI)"
        );
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("{message}: skipped");
    }
    found
}

#[test]
fn dockerfile_passes_hadolint() {
    let Some(hadolint) = linter("hadolint") else {
        return;
    };
    let out = Command::new(hadolint)
        .args(["--no-color", "--failure-threshold", "style"])
        .arg(root().join("deploy/Dockerfile"))
        .output()
        .expect("run hadolint");
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "hadolint: {findings}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The one waiver is inline, with its reason, and documented.
    let dockerfile = read("deploy/Dockerfile");
    let docs = read("docs/deploy.md");
    for line in dockerfile
        .lines()
        .filter(|l| l.contains("hadolint ignore="))
    {
        let rules = line.split("ignore=").nth(1).unwrap_or_default();
        for rule in rules.split(',').map(str::trim) {
            assert!(docs.contains(rule), "{rule} waiver not in docs/deploy.md");
        }
    }
}

#[test]
fn deploy_files_pass_checkov() {
    let Some(checkov) = linter("checkov") else {
        return;
    };
    let out = Command::new(checkov)
        .current_dir(root())
        .args(["--directory", "deploy", "--framework"])
        .args(["kubernetes", "kustomize", "dockerfile", "secrets"])
        // No call to the vendor's platform (this machine has no network
        // but the package registries), and no colour codes.
        .args(["--skip-download", "--output", "json", "--compact"])
        .env("ANSI_COLORS_DISABLED", "1")
        .output()
        .expect("run checkov");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json_start = stdout.find(['[', '{']).unwrap_or(0);
    let parsed: Json = serde_json::from_str(&stdout[json_start..]).unwrap_or_else(|e| {
        panic!(
            "checkov output is not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let reports = match parsed {
        Json::Array(reports) => reports,
        report => vec![report],
    };
    let mut passed: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut skipped = BTreeSet::new();
    for report in &reports {
        let framework = report["check_type"].as_str().unwrap_or("?").to_string();
        *passed.entry(framework.clone()).or_default() +=
            report["summary"]["passed"].as_u64().unwrap_or(0);
        for check in report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            failures.push(format!(
                "{framework} {} {} {}",
                check["check_id"], check["check_name"], check["file_path"]
            ));
        }
        for check in report["results"]["skipped_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let id = check["check_id"].as_str().unwrap_or_default().to_string();
            let reason = check["check_result"]["suppress_comment"]
                .as_str()
                .or_else(|| check["suppress_comment"].as_str())
                .unwrap_or_default();
            assert!(
                reason.trim().len() > 10,
                "{id} waived without a reason: {check}"
            );
            skipped.insert(id);
        }
    }
    assert!(
        failures.is_empty() && out.status.success(),
        "checkov findings:\n{}",
        failures.join("\n")
    );
    // It really scanned the manifests and the Dockerfile.
    for (framework, at_least) in [("kubernetes", 90), ("dockerfile", 40)] {
        let got = passed.get(framework).copied().unwrap_or(0);
        assert!(got >= at_least, "{framework}: {got} checks passed");
    }
    let waivers: BTreeSet<String> = CHECKOV_WAIVERS.iter().map(|w| w.to_string()).collect();
    assert!(
        skipped.is_subset(&waivers),
        "undocumented waivers: {:?}",
        skipped.difference(&waivers).collect::<Vec<_>>()
    );
    let docs = read("docs/deploy.md");
    for waiver in CHECKOV_WAIVERS {
        assert!(
            docs.contains(waiver),
            "{waiver} not explained in docs/deploy.md"
        );
    }
}

// ------------------------------------------------------------ secrets as files

/// The database URL and the admin token come from files (a mounted
/// Kubernetes Secret) through GOLIVE_DATABASE_URL_FILE and
/// GOLIVE_ADMIN_TOKEN_FILE; setting a variable and its _FILE twin is an
/// error that names them and not the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_read_from_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let database = dir.path().join("golive.db");
    let url = format!("sqlite://{}", database.display());
    let url_file = dir.path().join("GOLIVE_DATABASE_URL");
    let token_file = dir.path().join("GOLIVE_ADMIN_TOKEN");
    // Files as Kubernetes writes them (kubectl --from-file keeps newlines).
    std::fs::write(&url_file, format!("{url}\n")).expect("write");
    std::fs::write(&token_file, format!("{ADMIN_TOKEN}\n")).expect("write");

    let command = |extra: &[(&str, &str)]| {
        let mut command = Command::new(support::binary());
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("GOLIVE_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .env_remove("GOLIVE_ADMIN_TOKEN")
            .env("GOLIVE_DATABASE_URL_FILE", &url_file)
            .env("GOLIVE_ADMIN_TOKEN_FILE", &token_file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in extra {
            command.env(key, value);
        }
        command
    };
    let server = Server::spawn(command(&[]), &url);
    server.wait_ready().await;
    let (status, body) = server.get("/api/v1/session").await;
    assert_eq!(status, StatusCode::OK, "the token from the file: {body}");
    let (status, _) = server
        .call(
            reqwest::Method::GET,
            "/api/v1/session",
            Some("not-the-admin-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(database.exists(), "the database the file names");
    drop(server);

    let out = command(&[("GOLIVE_ADMIN_TOKEN", "another-token-0123456789")])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "both set must fail");
    assert!(
        stderr.contains("GOLIVE_ADMIN_TOKEN_FILE") && !stderr.contains(ADMIN_TOKEN),
        "{stderr}"
    );
}

// ------------------------------------------------------------ HAProxy, for real

fn haproxy_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("GOLIVE_HAPROXY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let mut dirs = vec![PathBuf::from("/usr/sbin")];
    if let Some(paths) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&paths));
    }
    dirs.into_iter()
        .map(|d| d.join("haproxy"))
        .find(|p| p.is_file())
}

/// A real HAProxy running deploy/haproxy/haproxy.cfg, with the compose
/// specifics swapped for this machine: it listens on a free 127.0.0.1 port
/// and its servers are the given addresses instead of Docker's DNS.
struct Haproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    fn start(binary: &Path, servers: &[(&str, &str)]) -> Haproxy {
        let text = read("deploy/haproxy/haproxy.cfg");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut config = String::new();
        let mut replaced = (false, false);
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed == "bind :8080" {
                config.push_str(&format!("    bind 127.0.0.1:{port}\n"));
                replaced.0 = true;
            } else if let Some(rest) = trimmed.strip_prefix("server-template ") {
                // `server-template NAME COUNT HOST:PORT OPTIONS…`: the same
                // options for each server, less the DNS ones.
                let words: Vec<&str> = rest.split_whitespace().collect();
                let mut options = Vec::new();
                let mut skip = 0;
                for word in &words[3..] {
                    if skip > 0 {
                        skip -= 1;
                    } else if ["resolvers", "init-addr"].contains(word) {
                        skip = 1;
                    } else {
                        options.push(*word);
                    }
                }
                for (name, address) in servers {
                    config.push_str(&format!(
                        "    server {name} {address} {}\n",
                        options.join(" ")
                    ));
                }
                replaced.1 = true;
            } else {
                config.push_str(line);
                config.push('\n');
            }
        }
        assert_eq!(replaced, (true, true), "bind and server-template found");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).expect("write config");
        let check = Command::new(binary)
            .args(["-c", "-f"])
            .arg(&path)
            .output()
            .expect("haproxy -c");
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let log = dir.path().join("haproxy.log");
        let file = std::fs::File::create(&log).expect("log");
        let child = Command::new(binary)
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("spawn haproxy");
        Haproxy {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The compose file's health check of the LB container, run as is
    /// against this proxy's port: true when it passes.
    fn compose_health_check(&self) -> bool {
        let compose = yaml("deploy/docker-compose.yml");
        let test: Vec<&str> = seq(get(&compose, &["services", "lb", "healthcheck", "test"]))
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
        assert_eq!(&test[..3], ["CMD", "bash", "-c"]);
        let script = test[3].replace("/8080", &format!("/{}", self.port));
        Command::new("bash")
            .args(["-c", &script])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a ticket through the load balancer: its status and body.
async fn post_ticket(
    client: &reqwest::Client,
    lb: &Haproxy,
    external_id: &str,
) -> (StatusCode, String) {
    let response = client
        .post(lb.url("/api/v1/tickets"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&support::ticket(
            serde_json::json!({ "external_id": external_id }),
        ))
        .send()
        .await
        .expect("request through the LB");
    (response.status(), response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_spreads_checks_and_fails_over_between_replicas() {
    let Some(haproxy) = haproxy_binary() else {
        let message = "haproxy not installed (`apt-get install haproxy`; .ci/run does)";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("{message}: skipped");
        return;
    };
    if skip_postgres() {
        return;
    }
    // Two replicas on one PostgreSQL database, and a third whose database
    // cannot be reached (it runs, answers /healthz, but /readyz is 503).
    let db = TestDb::new(Backend::Postgres).await;
    let mut replicas = [Server::start(&db).await, Server::start(&db).await];
    let unready = Server::launch(
        "postgres://postgres@127.0.0.1:1/nowhere",
        &[],
        &[],
        Stdio::null(),
    );
    let (status, _) = unready.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "not ready");
    let address = |s: &Server| s.base.trim_start_matches("http://").to_string();
    let (a, b, c) = (
        address(&replicas[0]),
        address(&replicas[1]),
        address(&unready),
    );
    let lb = Haproxy::start(&haproxy, &[("a", &a), ("b", &b), ("c", &c)]);
    // One connection per request, as many clients would: each is balanced.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");

    // The unready replica fails its /readyz check and is taken out.
    eventually("c marked down", Duration::from_secs(20), || async {
        let log = lb.log_text();
        if log.contains("golive/c is DOWN") {
            Ok(())
        } else {
            Err(log)
        }
    })
    .await;
    assert!(lb.compose_health_check(), "LB healthy with replicas up");
    let log = lb.log_text();
    assert!(
        !log.contains("golive/a is DOWN") && !log.contains("golive/b is DOWN"),
        "{log}"
    );

    // Requests through the LB: every one answered, by both ready replicas,
    // never by the unready one.
    let session = |client: reqwest::Client, url: String| async move {
        client
            .get(url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    };
    let served = |metrics: Metrics| {
        metrics.sum_where("golive_http_requests_total", "route", "/api/v1/session")
    };
    for _ in 0..20 {
        let status = session(client.clone(), lb.url("/api/v1/session")).await;
        assert_eq!(status, Ok(StatusCode::OK));
    }
    let served_a = served(replicas[0].metrics().await);
    let served_b = served(replicas[1].metrics().await);
    assert_eq!(served_a + served_b, 20.0, "a {served_a}, b {served_b}");
    assert!(
        served_a > 0.0 && served_b > 0.0,
        "spread: a {served_a}, b {served_b}"
    );
    // The sum above leaves none for the unready replica, which serves no
    // figures at all before it is ready.
    let (status, _) = unready.get("/metrics").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    // The live WebSocket passes through (Upgrade kept) and gets its
    // snapshot; find the replica that holds it.
    let ws_url = format!("ws://127.0.0.1:{}/api/v1/live?token={ADMIN_TOKEN}", lb.port);
    let (mut live, _) = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .expect("WebSocket through HAProxy");
    let first = tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("snapshot in time")
        .expect("a message")
        .expect("a frame");
    let first: Json = serde_json::from_str(first.to_text().expect("text")).expect("json");
    assert_eq!(first["type"], "snapshot");
    let mut holder = None;
    for (i, replica) in replicas.iter().enumerate() {
        if replica.metrics().await.sum("golive_live_clients") >= 1.0 {
            holder = Some(i);
        }
    }
    let holder = holder.expect("one replica holds the socket");

    // That replica dies. Its socket closes; requests made right away,
    // before any health check noticed, are retried on the survivor.
    replicas[holder].kill9();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match live.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(message)) if message.is_close() => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket closed with its replica");
    for i in 0..20 {
        let (status, body) = post_ticket(&client, &lb, &format!("INC-LB{i:03}")).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "write {i} after the kill: {body}"
        );
    }

    // The board reconnects, through the same address, to the survivor,
    // and that socket carries the next change.
    let survivor = &replicas[1 - holder];
    let (mut live, _) = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .expect("reconnect through HAProxy");
    let snapshot = tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("snapshot in time")
        .expect("a message")
        .expect("a frame");
    let snapshot: Json = serde_json::from_str(snapshot.to_text().expect("text")).expect("json");
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(
        survivor.metrics().await.sum("golive_live_clients"),
        1.0,
        "the survivor holds the new socket"
    );
    let (status, _) = post_ticket(&client, &lb, "INC-LB-AFTER").await;
    assert_eq!(status, StatusCode::CREATED);
    let pushed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = live.next().await {
            if let Ok(text) = message.to_text()
                && serde_json::from_str::<Json>(text).is_ok_and(|m| m["type"] == "board")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(pushed, Ok(true), "a board pushed on the new socket");

    // The killed replica is marked down by its health check; with the
    // survivor gone too, the LB's own health check fails.
    eventually(
        "the dead replica marked down",
        Duration::from_secs(20),
        || async {
            let name = if holder == 0 { "golive/a" } else { "golive/b" };
            let log = lb.log_text();
            if log.contains(&format!("{name} is DOWN")) {
                Ok(())
            } else {
                Err(log)
            }
        },
    )
    .await;
    assert!(lb.compose_health_check(), "still healthy with one replica");
    replicas[1 - holder].kill9();
    eventually(
        "the LB reports no replica",
        Duration::from_secs(20),
        || async {
            if lb.compose_health_check() {
                Err(lb.log_text())
            } else {
                Ok(())
            }
        },
    )
    .await;
    let status = session(client.clone(), lb.url("/api/v1/session")).await;
    assert_eq!(status, Ok(StatusCode::SERVICE_UNAVAILABLE));
}

/// The wall board, opened through HAProxy in headless Chromium, loses its
/// replica and comes back live on the other one by itself (board.js:
/// close → poll and reconnect with backoff; the LB sends the new socket to
/// the live replica).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_page_reconnects_to_another_replica_through_haproxy() {
    let Some(haproxy) = haproxy_binary() else {
        assert!(std::env::var_os("CI").is_none(), "haproxy not installed");
        return;
    };
    if skip_postgres() {
        return;
    }
    let Some(browser) = support::browser::browser().await else {
        return;
    };
    let db = TestDb::new(Backend::Postgres).await;
    let mut replicas = [Server::start(&db).await, Server::start(&db).await];
    let servers: Vec<(String, String)> = replicas
        .iter()
        .zip(["a", "b"])
        .map(|(r, name)| {
            (
                name.to_string(),
                r.base.trim_start_matches("http://").to_string(),
            )
        })
        .collect();
    let servers: Vec<(&str, &str)> = servers
        .iter()
        .map(|(n, a)| (n.as_str(), a.as_str()))
        .collect();
    let lb = Haproxy::start(&haproxy, &servers);
    eventually("the LB up", Duration::from_secs(20), || async {
        match reqwest::get(lb.url("/readyz")).await {
            Ok(r) if r.status() == StatusCode::OK => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    browser
        .goto(&lb.url(&format!("/?token={ADMIN_TOKEN}")))
        .await;
    let live = || browser.live_state();
    eventually("the board live", Duration::from_secs(30), live).await;
    let mut holder = None;
    for (i, replica) in replicas.iter().enumerate() {
        if replica.metrics().await.sum("golive_live_clients") >= 1.0 {
            holder = Some(i);
        }
    }
    let holder = holder.expect("a replica holds the board's socket");
    replicas[holder].kill9();
    let survivor = &replicas[1 - holder];
    eventually(
        "the board live again on the other replica",
        Duration::from_secs(30),
        || async {
            live().await?;
            let clients = survivor.metrics().await.sum("golive_live_clients");
            if clients >= 1.0 {
                Ok(())
            } else {
                Err(format!("survivor has {clients} live clients"))
            }
        },
    )
    .await;
    browser.close().await;
}

//! Checks of the deployment files without a container engine (issue #6):
//! the Grafana dashboards and their provisioning, deploy/docker-compose.yml,
//! the Kubernetes manifests, the Dockerfile, the systemd unit and the
//! Prometheus configuration are parsed and cross-checked against each other
//! and against golive itself (its config type, its routes and its port).
//! The PromQL inside them is evaluated by tests/prometheus.rs.

use golive_server::ServerConfig;
use serde::Deserialize;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
    for name in ["golive", "postgres", "prometheus", "grafana"] {
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
    let targets: Vec<&str> = seq(get(&seq(get(job, &["static_configs"]))[0], &["targets"]))
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(targets, ["golive:8080"]);
    assert_eq!(
        job.get("metrics_path")
            .and_then(Yaml::as_str)
            .unwrap_or("/metrics"),
        "/metrics"
    );
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
            assert!(s(&doc, &["apiVersion"]).starts_with('v') || kind == "Deployment");
            let previous = objects.insert(kind.clone(), doc);
            assert!(previous.is_none(), "two {kind} objects");
        }
    }
    for kind in ["Deployment", "Service", "ConfigMap", "Secret"] {
        assert!(objects.contains_key(kind), "no {kind} in deploy/k8s");
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

    // The Secret provides both variables golive reads.
    let secret_name = s(secret, &["metadata", "name"]);
    let from_secret = seq(get(container, &["envFrom"]))
        .iter()
        .any(|e| e.get("secretRef").map(|r| s(r, &["name"])) == Some(secret_name));
    assert!(
        from_secret,
        "the container takes its env from {secret_name}"
    );
    let secret_data = secret
        .get("stringData")
        .or_else(|| secret.get("data"))
        .expect("secret data");
    for key in ["GOLIVE_ADMIN_TOKEN", "GOLIVE_DATABASE_URL"] {
        assert!(secret_data.get(key).is_some(), "Secret lacks {key}");
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

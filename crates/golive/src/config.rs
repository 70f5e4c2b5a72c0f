//! The optional TOML configuration file (`--config FILE`).

use golive_server::{ConfigError, ServerConfig};
use std::path::Path;

/// Reads the file and checks every value (so that a bad one is reported
/// before the server binds its port); unknown keys are an error so typos
/// do not go unnoticed.
pub fn load(path: Option<&Path>) -> Result<ServerConfig, ConfigError> {
    let Some(path) = path else {
        return Ok(ServerConfig::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let config: ServerConfig = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    /// The configuration documented in the README must load as written.
    #[test]
    fn readme_example_config_is_valid() {
        let readme = include_str!("../../../README.md");
        let block = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a toml block in the README");
        let config: golive_server::ServerConfig =
            toml::from_str(block).expect("README config parses");
        assert_eq!(config.push_interval_ms, 1000);
        assert_eq!(config.checkpoint_interval_seconds, 300);
        assert_eq!(config.checkpoint_every_events, 100_000);
        assert_eq!(config.alerts.understaffed_by, 2);
        assert!(
            config.validate().expect("valid").is_some(),
            "go_live_start parsed"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<golive_server::ServerConfig>("push_intervall_ms = 5").is_err());
    }

    /// Values the type system accepts but golive cannot use are refused,
    /// naming the key.
    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (text, key) in [
            ("push_interval_ms = 0", "push_interval_ms"),
            ("go_live_start = \"tomorrow\"", "go_live_start"),
            ("go_live_start = \"2026-03-02T07:00:00\"", "go_live_start"),
            (
                "[alerts]\nabandonment_rate_above = 10",
                "alerts.abandonment_rate_above",
            ),
            (
                "[alerts]\nasa_seconds_above = -1",
                "alerts.asa_seconds_above",
            ),
            (
                "[alerts]\nbacklog_rising_minutes = 7",
                "alerts.backlog_rising_minutes",
            ),
            ("max_clock_skew_seconds = 100000", "max_clock_skew_seconds"),
            ("header_timeout_seconds = 0", "header_timeout_seconds"),
            ("max_body_bytes = 10", "max_body_bytes"),
            (
                "checkpoint_interval_seconds = 100000",
                "checkpoint_interval_seconds",
            ),
            ("checkpoint_every_events = 5", "checkpoint_every_events"),
        ] {
            let config: golive_server::ServerConfig = toml::from_str(text).expect(text);
            match config.validate() {
                Err(golive_server::ConfigError::Invalid { key: found, .. }) => {
                    assert_eq!(found, key, "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}

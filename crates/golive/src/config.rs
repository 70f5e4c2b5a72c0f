//! The optional TOML configuration file (`--config FILE`).

use golive_server::ServerConfig;
use std::path::Path;

/// Reads the file; unknown keys are an error so typos do not go unnoticed.
pub fn load(path: Option<&Path>) -> Result<ServerConfig, String> {
    let Some(path) = path else {
        return Ok(ServerConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))
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
}

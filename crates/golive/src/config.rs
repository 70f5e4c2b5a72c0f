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

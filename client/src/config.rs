//! Where the app keeps its data and which gateway it talks to: `citizen.toml` in the data
//! directory, overridden by environment variables.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ENV_GATEWAY_URL: &str = "CITIZEN_GATEWAY_URL";
pub const ENV_DATA_DIR: &str = "CITIZEN_DATA_DIR";
pub const ENV_SYNC_INTERVAL: &str = "CITIZEN_SYNC_INTERVAL_SECS";
pub const ENV_TILE_CACHE_MB: &str = "CITIZEN_TILE_CACHE_MB";
pub const ENV_SALINITY_STALE_MINUTES: &str = "CITIZEN_SALINITY_STALE_MINUTES";
pub const CONFIG_FILE: &str = "citizen.toml";
pub const DEFAULT_GATEWAY_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    pub gateway_url: String,
    pub data_dir: PathBuf,
    pub sync_interval: Duration,
    /// Most bytes the cache of map tiles seen online may hold.
    pub tile_cache_bytes: u64,
    /// After how long a salinity reading is stale; `None` takes the city pack's (30 minutes
    /// in Mỹ Tho's).
    pub salinity_stale_after: Option<Duration>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{key}: {message}")]
    Value { key: String, message: String },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    gateway_url: Option<String>,
    sync_interval_secs: Option<u64>,
    tile_cache_mb: Option<u64>,
    salinity_stale_minutes: Option<f64>,
}

impl AppConfig {
    /// Reads `<data_dir>/citizen.conf` if present, then applies the environment. `default_dir`
    /// is the platform's app-data folder; `CITIZEN_DATA_DIR` replaces it.
    pub fn load(
        default_dir: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AppConfig, ConfigError> {
        let data_dir = env(ENV_DATA_DIR).map_or_else(|| default_dir.to_owned(), PathBuf::from);
        let mut config = AppConfig {
            gateway_url: DEFAULT_GATEWAY_URL.to_owned(),
            sync_interval: Duration::from_secs(30),
            tile_cache_bytes: crate::tile_cache::DEFAULT_MAX_BYTES,
            salinity_stale_after: None,
            data_dir,
        };
        let file = config.data_dir.join(CONFIG_FILE);
        if let Ok(text) = std::fs::read_to_string(&file) {
            let settings: FileSettings =
                toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                    file: file.display().to_string(),
                    message: e.to_string(),
                })?;
            if let Some(url) = settings.gateway_url {
                config.set("gateway_url", &url)?;
            }
            if let Some(secs) = settings.sync_interval_secs {
                config.set("sync_interval_secs", &secs.to_string())?;
            }
            if let Some(mb) = settings.tile_cache_mb {
                config.set("tile_cache_mb", &mb.to_string())?;
            }
            if let Some(minutes) = settings.salinity_stale_minutes {
                config.set("salinity_stale_minutes", &minutes.to_string())?;
            }
        }
        if let Some(url) = env(ENV_GATEWAY_URL) {
            config.set("gateway_url", &url)?;
        }
        if let Some(secs) = env(ENV_SYNC_INTERVAL) {
            config.set("sync_interval_secs", &secs)?;
        }
        if let Some(mb) = env(ENV_TILE_CACHE_MB) {
            config.set("tile_cache_mb", &mb)?;
        }
        if let Some(minutes) = env(ENV_SALINITY_STALE_MINUTES) {
            config.set("salinity_stale_minutes", &minutes)?;
        }
        Ok(config)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let bad = |message: &str| ConfigError::Value {
            key: key.to_owned(),
            message: message.to_owned(),
        };
        match key {
            "gateway_url" => {
                if !(value.starts_with("http://") || value.starts_with("https://")) {
                    return Err(bad("must start with http:// or https://"));
                }
                value.clone_into(&mut self.gateway_url);
            }
            "sync_interval_secs" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|_| bad("must be a whole number of seconds"))?;
                if secs == 0 {
                    return Err(bad("must be at least 1"));
                }
                self.sync_interval = Duration::from_secs(secs);
            }
            "tile_cache_mb" => {
                let mb: u64 = value
                    .parse()
                    .map_err(|_| bad("must be a whole number of megabytes"))?;
                self.tile_cache_bytes = mb.saturating_mul(1024 * 1024);
            }
            "salinity_stale_minutes" => {
                // Fractions are allowed so tests can use seconds (0.25 = 15 s).
                let minutes: f64 = value
                    .parse()
                    .ok()
                    .filter(|m: &f64| m.is_finite() && *m > 0.0 && *m <= 10_080.0)
                    .ok_or_else(|| {
                        bad("must be a number of minutes, more than 0, at most a week")
                    })?;
                self.salinity_stale_after = Some(Duration::from_secs_f64(minutes * 60.0));
            }
            _ => return Err(bad("unknown setting")),
        }
        Ok(())
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("citizen.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "# gateway\ngateway_url = \"https://gw.example\"\nsync_interval_secs = 60\n",
        )
        .expect("write config");
        let dir_text = dir.path().display().to_string();
        let from_file = AppConfig::load(Path::new("/nowhere"), |k| {
            (k == ENV_DATA_DIR).then(|| dir_text.clone())
        })
        .expect("loads");
        assert_eq!(from_file.gateway_url, "https://gw.example");
        assert_eq!(from_file.sync_interval, Duration::from_secs(60));
        let overridden = AppConfig::load(Path::new("/nowhere"), |k| match k {
            ENV_DATA_DIR => Some(dir_text.clone()),
            ENV_GATEWAY_URL => Some("http://127.0.0.1:9".into()),
            _ => None,
        })
        .expect("loads");
        assert_eq!(overridden.gateway_url, "http://127.0.0.1:9", "env wins");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = AppConfig::load(Path::new("/nowhere"), |k| {
            (k == ENV_SYNC_INTERVAL).then(|| "soon".to_owned())
        })
        .expect_err("not a number");
        assert!(err.to_string().starts_with("sync_interval_secs:"), "{err}");
    }
}

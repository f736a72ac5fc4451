//! What the load generators that talk to a running server share: the flags
//! that name it and the workspace (`--url`, `--token`, `--app-id`, each
//! declared once here and flattened into the subcommands that need it), an
//! HTTP client for it, its REST API and the JSON of its replies.

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::Value;

/// `--url`: the server to load.
#[derive(Debug, clap::Args)]
pub struct ServerUrl {
    /// The server's base URL.
    #[arg(
        long,
        env = "RAPPORT_BENCH_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
}

/// `--also-url`: more servers sharing the first one's database, to spread
/// the load over (bench/cluster.sh).
#[derive(Debug, clap::Args)]
pub struct MoreServers {
    /// Another server of the same database (repeatable): the load is spread
    /// over `--url` and these.
    #[arg(long = "also-url")]
    pub also: Vec<String>,
}

impl MoreServers {
    /// Every server's base URL, `first` first.
    pub fn with(&self, first: &str) -> Vec<String> {
        std::iter::once(first.to_owned())
            .chain(self.also.iter().cloned())
            .collect()
    }
}

/// `--token`: who calls the server's API.
#[derive(Debug, clap::Args)]
pub struct ApiToken {
    /// An API token (from `rapport admin bootstrap`).
    #[arg(long, env = "RAPPORT_BENCH_TOKEN", hide_env_values = true)]
    pub token: String,
}

/// `--app-id`: the workspace whose widget visitors boot into.
#[derive(Debug, clap::Args)]
pub struct AppId {
    /// The workspace's app id (from `rapport admin bootstrap`).
    #[arg(long, env = "RAPPORT_BENCH_APP_ID")]
    pub app_id: String,
}

/// An HTTP client for set-up requests and sends: loopback, no proxy.
pub fn http_client(pool: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(pool)
        .tcp_nodelay(true)
        .no_proxy() // loopback only: never route through a proxy
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// The server's API (`/api/v1`) as one token, over one connection pool.
pub struct Api {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Api {
    /// The API of the server at `url` (a trailing slash is ignored).
    pub fn new(http: reqwest::Client, url: &str, token: &ApiToken) -> Self {
        Self {
            http,
            base: format!("{}/api/v1", url.trim_end_matches('/')),
            auth: format!("Bearer {}", token.token),
        }
    }

    /// POSTs `body` to `path` (below `/api/v1`); the response body if its
    /// status is one of `expect`, or why it failed.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        expect: &[StatusCode],
    ) -> Result<Vec<u8>, String> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .json(body)
            .send()
            .await
            .map_err(|err| format!("POST /api/v1{path}: {err}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| format!("POST /api/v1{path}: {err}"))?;
        if expect.contains(&status) {
            Ok(bytes.to_vec())
        } else {
            Err(format!(
                "POST /api/v1{path}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            ))
        }
    }
}

impl Api {
    /// GETs `path` (below `/api/v1`); the response body if it is a 200.
    pub async fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .send()
            .await
            .map_err(|err| format!("GET /api/v1{path}: {err}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| format!("GET /api/v1{path}: {err}"))?;
        if status == StatusCode::OK {
            Ok(bytes.to_vec())
        } else {
            Err(format!(
                "GET /api/v1{path}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            ))
        }
    }

    /// The token, for a live socket's hello.
    pub fn token(&self) -> &str {
        self.auth.trim_start_matches("Bearer ")
    }
}

/// Reads the string at `pointer` (`/id`, `/contact/id`) from a JSON reply.
pub fn string_field(body: &[u8], pointer: &str) -> anyhow::Result<String> {
    let value: Value = serde_json::from_slice(body).context("the reply is not JSON")?;
    match value.pointer(pointer).and_then(Value::as_str) {
        Some(text) => Ok(text.to_owned()),
        None => bail!("the reply has no string at {pointer}: {value}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_fields_are_read_by_pointer() {
        let reply = br#"{"id": "c_1", "contact": {"id": "c_2"}, "n": 3}"#;
        assert_eq!(string_field(reply, "/id").unwrap(), "c_1");
        assert_eq!(string_field(reply, "/contact/id").unwrap(), "c_2");
        assert!(string_field(reply, "/n").is_err());
        assert!(string_field(reply, "/missing").is_err());
        assert!(string_field(b"not json", "/id").is_err());
    }
}

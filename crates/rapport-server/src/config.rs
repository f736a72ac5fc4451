//! One typed configuration: defaults, then a TOML file, then `RAPPORT_*`
//! environment variables (and `DATABASE_URL`), then command-line flags.
//! Every subcommand reads the same, so `rapport admin ...` run beside a
//! server acts on that server's database.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use rapport_store::Database;

use crate::client_addr::TrustedProxies;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// Holds the SQLite database when no `database_url` is set.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL; unset means SQLite in `data_dir`.
    pub database_url: Option<Secret>,
    /// Connections in the PostgreSQL pool (by default four per core, 8
    /// to 64: `rapport_store::default_postgres_connections`).
    pub database_max_connections: u32,
    /// The largest JSON request body accepted, in bytes.
    pub json_body_limit: usize,
    /// The largest CSV body `POST /api/v1/contacts/import` reads, in bytes.
    pub import_body_limit: usize,
    /// The largest raw email accepted, over HTTP (`POST
    /// /api/v1/email/inbound`) and over SMTP, in bytes.
    pub inbound_email_limit: usize,
    /// The largest file attached to a message, in bytes (each workspace
    /// may take less).
    pub attachment_max_bytes: u64,
    /// Keep attachments' files in this S3-compatible bucket instead of
    /// under `data_dir/attachments`. Credentials and region come from the
    /// settings below, or else from the usual `AWS_*` environment
    /// variables.
    pub attachment_s3_bucket: Option<String>,
    /// The S3 endpoint, for a service other than Amazon's
    /// (`https://<account>.r2.cloudflarestorage.com`, `http://minio:9000`).
    /// Buckets are addressed by path (`endpoint/bucket/key`).
    pub attachment_s3_endpoint: Option<String>,
    pub attachment_s3_region: Option<String>,
    pub attachment_s3_access_key_id: Option<String>,
    pub attachment_s3_secret_access_key: Option<Secret>,
    /// Open HTTP connections at most (WebSockets count under
    /// `max_connections` instead); more wait in the listen backlog.
    pub max_http_connections: usize,
    /// The most a client may take to send a request's headers (and the
    /// most a kept-alive connection may sit idle).
    pub http_header_timeout_seconds: u64,
    /// The most a client may take to send a request body (for the contact
    /// import, the most it may pause between parts); then 408.
    pub http_body_timeout_seconds: u64,
    /// Open WebSockets (widgets and Inbox tabs) at most; more are refused
    /// with 429. Keep it below the process's open-file limit.
    pub max_connections: usize,
    /// WebSockets from one client (IPv6: one /64) that have not said hello
    /// yet, at most; more are refused with 429 before the upgrade.
    pub max_unauthenticated_sockets_per_ip: usize,
    /// The most a new WebSocket may take to say hello before it is closed.
    pub live_hello_timeout_seconds: u64,
    /// Widget requests per second from one IP (0 turns the widget's rate
    /// limits off).
    pub widget_requests_per_second_per_ip: u32,
    /// Widget boots (each may create a lead) per minute from one IP.
    pub widget_boots_per_minute_per_ip: u32,
    /// Reverse proxies (IPs or CIDR ranges) whose `X-Forwarded-For` names
    /// the client for per-IP limits. Empty: the TCP peer is the client.
    pub trusted_proxies: TrustedProxies,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Where outgoing email goes: `smtp://host:25` (plain),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465` (TLS). Unset: nothing is emailed, and
    /// the timeline says so.
    pub smtp_url: Option<Secret>,
    /// The sender address of workspaces that set none.
    pub email_from: String,
    /// The domain of reply addresses (`reply+<token>@<domain>`); mail for
    /// it must reach `smtp_listen` or the inbound HTTP endpoint. Default:
    /// the domain of `email_from`.
    pub email_reply_domain: Option<String>,
    /// This server's address as contacts reach it, for links in emails.
    /// Default: `http://<listen>`.
    pub public_url: Option<String>,
    /// Receive emailed replies over SMTP on this address (off when unset).
    pub smtp_listen: Option<SocketAddr>,
    /// Serve `/metrics` (Prometheus) on this address, apart from the public
    /// listener (off when unset). Keep it private: bind to a private
    /// interface or loopback.
    pub metrics_listen: Option<SocketAddr>,
    /// Open SMTP connections at most; more are told 421.
    pub smtp_max_connections: usize,
    /// Open SMTP connections from one client (IPv6: one /64) at most.
    pub smtp_max_connections_per_ip: usize,
    /// The most an SMTP client may be silent: for a whole command, or
    /// between parts of a message.
    pub smtp_idle_timeout_seconds: u64,
    /// The most one SMTP connection may last.
    pub smtp_session_timeout_seconds: u64,
    /// Emails sent at the same time.
    pub email_concurrency: usize,
    /// The most emails this server sends in a second, the fallback's and
    /// every other (0: no limit). A drain of due emails (after a bulk
    /// send, say) otherwise takes every core the database and the server
    /// have, and live chat waits for them: on two cores, a live message's
    /// p99 during a drain of 10,000 on PostgreSQL was 27 and 32 ms
    /// unpaced, a median of 19 ms at 1,200 a second (docs/benchmarks.md).
    pub email_rate_per_second: u32,
    /// Whether `serve` runs due jobs (email fallback, bulk sends). Off for
    /// a process that should only answer requests while others run them.
    pub run_jobs: bool,
    /// On PostgreSQL, whether `serve` shares live delivery, signals and
    /// presence with other servers on the same database (docs/deploy.md).
    /// Off only for a deployment that is sure to run one server: it saves
    /// a notification per burst of writes.
    pub cluster: bool,
    /// An automation's wait (or delayed trigger) found due more than this
    /// many minutes late, after downtime, ends its run instead of firing.
    pub automation_overdue_minutes: u32,
    /// Whether webhooks (automations' webhook steps and workspaces'
    /// webhook endpoints) may call loopback and private addresses (and
    /// plain http). Off: only public https.
    pub automation_webhooks_allow_private: bool,
    /// The sentence-embedding model's directory (what scripts/fetch-model
    /// makes). Unset: the knowledge base is searched by keywords alone.
    pub embedding_model: Option<PathBuf>,
    /// An OpenAI-compatible chat endpoint (`http://127.0.0.1:8081/v1` for
    /// llama.cpp's server) the bot writes answers with; unset, it answers
    /// with the passage itself.
    pub llm_base_url: Option<String>,
    /// The model to ask for there.
    pub llm_model: Option<String>,
    /// Sent as a bearer token, if the endpoint wants one.
    pub llm_api_key: Option<Secret>,
    /// How long the bot waits for a written answer before answering with
    /// the passage.
    pub llm_timeout_seconds: u64,
    /// Sign-in attempts per minute for one account (email), whoever tries;
    /// more are refused with 429 (0: no limit).
    pub sign_in_attempts_per_minute_per_account: u32,
    /// Sign-in and setup attempts per minute from one client IP (0: none).
    pub sign_in_attempts_per_minute_per_ip: u32,
    /// Password hashes (argon2, 19 MiB each) run at once; others queue.
    pub password_hash_concurrency: usize,
    /// How long a request waits in that queue before a 503.
    pub password_hash_wait_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("rapport-data"),
            database_url: None,
            database_max_connections: rapport_store::default_postgres_connections(),
            json_body_limit: 1024 * 1024,
            import_body_limit: 64 * 1024 * 1024,
            inbound_email_limit: 25 * 1024 * 1024,
            attachment_max_bytes: rapport_core::model::attachment::DEFAULT_MAX_BYTES,
            attachment_s3_bucket: None,
            attachment_s3_endpoint: None,
            attachment_s3_region: None,
            attachment_s3_access_key_id: None,
            attachment_s3_secret_access_key: None,
            max_http_connections: 20_000,
            http_header_timeout_seconds: 10,
            http_body_timeout_seconds: 60,
            max_connections: 16_000,
            max_unauthenticated_sockets_per_ip: 20,
            live_hello_timeout_seconds: 5,
            widget_requests_per_second_per_ip: 50,
            widget_boots_per_minute_per_ip: 60,
            trusted_proxies: TrustedProxies::default(),
            log_format: LogFormat::Text,
            smtp_url: None,
            email_from: "rapport@localhost".into(),
            email_reply_domain: None,
            public_url: None,
            smtp_listen: None,
            metrics_listen: None,
            smtp_max_connections: 256,
            smtp_max_connections_per_ip: 10,
            smtp_idle_timeout_seconds: 60,
            smtp_session_timeout_seconds: 600,
            email_concurrency: 32,
            email_rate_per_second: 1200,
            run_jobs: true,
            cluster: true,
            automation_overdue_minutes: 60,
            automation_webhooks_allow_private: false,
            embedding_model: None,
            llm_base_url: None,
            llm_model: None,
            llm_api_key: None,
            llm_timeout_seconds: 20,
            sign_in_attempts_per_minute_per_account: 5,
            sign_in_attempts_per_minute_per_ip: 30,
            password_hash_concurrency: 4,
            password_hash_wait_secs: 10,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A value kept out of logs and `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Flags that override the configuration (from the CLI).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_listen: Option<SocketAddr>,
}

impl Config {
    /// The settings, as named in files and (upper-cased) in `RAPPORT_*`.
    pub const KEYS: &[&str] = &[
        "listen",
        "data_dir",
        "database_url",
        "database_max_connections",
        "json_body_limit",
        "import_body_limit",
        "inbound_email_limit",
        "max_http_connections",
        "http_header_timeout_seconds",
        "http_body_timeout_seconds",
        "max_connections",
        "max_unauthenticated_sockets_per_ip",
        "live_hello_timeout_seconds",
        "widget_requests_per_second_per_ip",
        "widget_boots_per_minute_per_ip",
        "trusted_proxies",
        "log_format",
        "smtp_url",
        "email_from",
        "email_reply_domain",
        "public_url",
        "smtp_listen",
        "metrics_listen",
        "smtp_max_connections",
        "smtp_max_connections_per_ip",
        "smtp_idle_timeout_seconds",
        "smtp_session_timeout_seconds",
        "email_concurrency",
        "email_rate_per_second",
        "run_jobs",
        "cluster",
        "automation_overdue_minutes",
        "automation_webhooks_allow_private",
        "embedding_model",
        "llm_base_url",
        "llm_model",
        "llm_api_key",
        "llm_timeout_seconds",
        "sign_in_attempts_per_minute_per_account",
        "sign_in_attempts_per_minute_per_ip",
        "password_hash_concurrency",
        "password_hash_wait_secs",
    ];

    /// Reads the layers in order; a later layer wins.
    pub fn load(
        file: Option<&std::path::Path>,
        overrides: &Overrides,
    ) -> Result<Self, Box<figment::Error>> {
        let file = file
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("RAPPORT_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("rapport.toml"));
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            // Only our settings: other RAPPORT_* variables (tests' own) exist.
            .merge(Env::prefixed("RAPPORT_").filter(|key| {
                Self::KEYS
                    .iter()
                    .any(|k| key.as_str().eq_ignore_ascii_case(k))
            }))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
    }

    pub fn database(&self) -> Database {
        let mut database = Database::from_settings(
            self.database_url.as_ref().map(Secret::expose),
            &self.data_dir,
        );
        if let Database::Postgres {
            max_connections, ..
        } = &mut database
        {
            *max_connections = self.database_max_connections;
        }
        database
    }
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment::Jail's closures return figment::Error"
)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_secrets_stay_hidden() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "rapport.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"",
            )?;
            jail.set_env("RAPPORT_DATA_DIR", "/from/env");
            jail.set_env("DATABASE_URL", "postgres://u:pw@db/rapport");
            let overrides = Overrides {
                listen: Some("0.0.0.0:7000".parse().unwrap()),
                ..Default::default()
            };
            let config = Config::load(None, &overrides).map_err(|e| *e)?;
            assert_eq!(config.listen.to_string(), "0.0.0.0:7000");
            assert_eq!(config.data_dir, PathBuf::from("/from/env"));
            assert_eq!(config.database().backend_name(), "postgres");
            assert!(!format!("{config:?}").contains("pw"));
            Ok(())
        });
    }

    #[test]
    fn defaults_run_sqlite_in_the_data_directory() {
        figment::Jail::expect_with(|_| {
            let config = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
            match config.database() {
                Database::Sqlite { path } => {
                    assert_eq!(path, PathBuf::from("rapport-data/rapport.db"))
                }
                other => panic!("expected SQLite, got {other:?}"),
            }
            Ok(())
        });
    }

    #[test]
    fn the_example_file_loads_and_documents_every_setting() {
        let example = include_str!("../../../rapport.example.toml");
        for key in Config::KEYS {
            assert!(
                example.contains(&format!("{key} =")),
                "{key} is not in rapport.example.toml"
            );
        }
        figment::Jail::expect_with(|jail| {
            jail.create_file("rapport.toml", example)?;
            let config = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert_eq!(config.email_concurrency, 32);
            assert_eq!(config.email_rate_per_second, 1200);
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_a_comma_separated_variable() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "rapport.toml",
                "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]",
            )?;
            let config = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert!(config.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
            assert!(config.trusted_proxies.contains("::1".parse().unwrap()));
            jail.set_env("RAPPORT_TRUSTED_PROXIES", "192.0.2.1, 2001:db8::/32");
            let config = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert!(!config.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
            assert!(
                config
                    .trusted_proxies
                    .contains("192.0.2.1".parse().unwrap())
            );
            assert!(
                config
                    .trusted_proxies
                    .contains("2001:db8::9".parse().unwrap())
            );
            jail.set_env("RAPPORT_TRUSTED_PROXIES", "not-an-address");
            assert!(Config::load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn unknown_settings_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("rapport.toml", "lisen = \"127.0.0.1:9000\"")?;
            assert!(Config::load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }
}

//! The command line: `rapport serve | migrate | admin ...`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rapport_core::ports::clock::SystemClock;

use crate::bootstrap::{BootstrapRequest, bootstrap_workspace};
use crate::config::{Config, Overrides};
use crate::{AppState, live, telemetry};

/// Rapport: self-hosted customer messaging (chat widget, inbox, email).
#[derive(Debug, Parser)]
#[command(name = "rapport", version, about, long_about = None)]
pub struct Cli {
    /// A TOML configuration file [default: ./rapport.toml if present; env: RAPPORT_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the embedded SQLite database lives [default: ./rapport-data; env: RAPPORT_DATA_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A postgres:// URL to use PostgreSQL instead of SQLite [env: DATABASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrating the database first).
    Serve {
        /// Address and port to listen on [default: 127.0.0.1:8080; env: RAPPORT_LISTEN].
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
        /// Also receive emailed replies over SMTP here, e.g. 0.0.0.0:2525 [default: off; env: RAPPORT_SMTP_LISTEN].
        #[arg(long, value_name = "ADDR:PORT")]
        smtp_listen: Option<std::net::SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks on the configured database.
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Debug, Subcommand)]
enum Admin {
    /// Create a workspace, its owner and an API token; print them as JSON.
    ///
    /// Exits with status 2 when the email already owns a workspace.
    Bootstrap {
        /// The workspace (business) name.
        #[arg(long)]
        workspace: String,
        /// The owner's email; they sign in with it.
        #[arg(long)]
        email: String,
        /// The owner's password (at least 8 characters).
        #[arg(long, env = "RAPPORT_BOOTSTRAP_PASSWORD", hide_env_values = true)]
        password: String,
        /// The owner's display name [default: the part of the email before @].
        #[arg(long)]
        name: Option<String>,
    },
    /// Import a folder of Markdown articles into a workspace's knowledge
    /// base: each `*.md` file (a `---` header of title, collection,
    /// language and status, then the body; the file name is the slug) is
    /// created, or updated as a new revision. All or nothing; prints the
    /// counts as JSON.
    ImportArticles {
        /// The folder of `.md` files (not searched below).
        dir: std::path::PathBuf,
        /// The workspace's public app id (Settings, or `bootstrap`'s output).
        #[arg(long)]
        app_id: String,
    },
    /// Copy the SQLite database to PATH while the server runs: a
    /// consistent copy of every write acknowledged before it began. Prints
    /// what the copy holds as JSON. Never overwrites a file (status 2). On
    /// PostgreSQL, use pg_dump (docs/deploy.md).
    Backup {
        /// The file to write.
        path: std::path::PathBuf,
    },
    /// Put a backup in place as the database of an empty data directory
    /// (the server stopped), migrated to this version. Refuses (status 2)
    /// if the data directory already holds a database.
    Restore {
        /// The backup file (from `rapport admin backup`).
        path: std::path::PathBuf,
    },
}

/// The largest article file the command reads.
const MAX_ARTICLE_FILE_BYTES: u64 = 400_000;

/// Exit status for a refused request (bad input or conflict), as opposed to
/// a failure (1).
const REFUSED: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let (listen, smtp_listen) = match &cli.command {
        Command::Serve {
            listen,
            smtp_listen,
        } => (*listen, *smtp_listen),
        _ => (None, None),
    };
    let overrides = Overrides {
        listen,
        smtp_listen,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("rapport: configuration: {err}");
            return ExitCode::from(REFUSED);
        }
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("rapport: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("rapport: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    let database = config.database();
    // These two work on the database file, not through a store: restore
    // needs the database not to exist yet.
    if let Command::Admin(Admin::Backup { path } | Admin::Restore { path }) = &command {
        let rapport_store::Database::Sqlite { path: db_path } = &database else {
            eprintln!(
                "rapport: backups are of the SQLite database; for PostgreSQL use pg_dump and pg_restore (docs/deploy.md)"
            );
            return Ok(ExitCode::from(REFUSED));
        };
        let done = match command {
            Command::Admin(Admin::Backup { .. }) => {
                rapport_store::backup::backup(db_path, path).await
            }
            _ => rapport_store::backup::restore(path, db_path).await,
        };
        return match done {
            Ok(summary) => {
                println!("{}", serde_json::to_string_pretty(&summary)?);
                Ok(ExitCode::SUCCESS)
            }
            Err(rapport_store::backup::Refused::Store(err)) => Err(err.into()),
            Err(refused) => {
                eprintln!("rapport: {refused}");
                Ok(ExitCode::from(REFUSED))
            }
        };
    }
    let store = rapport_store::open(&database)
        .await
        .with_context(|| format!("opening the {} database", database.backend_name()))?;
    match command {
        Command::Migrate => {
            eprintln!(
                "rapport: the {} database is up to date",
                database.backend_name()
            );
        }
        Command::Admin(Admin::Bootstrap {
            workspace,
            email,
            password,
            name,
        }) => {
            let request = BootstrapRequest {
                workspace,
                email,
                password,
                name,
            };
            match bootstrap_workspace(&*store, &SystemClock, request).await {
                Ok(created) => println!("{}", serde_json::to_string_pretty(&created)?),
                Err(crate::error::ApiError::Conflict(why)) => {
                    eprintln!("rapport: {why}");
                    return Ok(ExitCode::from(REFUSED));
                }
                Err(crate::error::ApiError::Validation(fields)) => {
                    for field in fields {
                        eprintln!(
                            "rapport: --{}: {}",
                            field.field.replace('_', "-"),
                            field.message
                        );
                    }
                    return Ok(ExitCode::from(REFUSED));
                }
                Err(other) => return Err(anyhow::anyhow!("{other}")),
            }
        }
        Command::Admin(Admin::Backup { .. } | Admin::Restore { .. }) => {
            unreachable!("answered above, before the store is opened")
        }
        Command::Admin(Admin::ImportArticles { dir, app_id }) => {
            return import_articles(&*store, &dir, &app_id).await;
        }
        Command::Serve { .. } => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("listening on {}", config.listen))?;
            tracing::info!(
                address = %listener.local_addr()?,
                database = database.backend_name(),
                "rapport is serving"
            );
            let bus = live::LocalBus::default();
            let clock: Arc<dyn rapport_core::ports::clock::Clock> = Arc::new(SystemClock);
            let mut state = AppState::new(store, bus.clone(), clock.clone(), &config)?;
            // On PostgreSQL other servers may share the database: live
            // notices, signals and presence cross between them.
            let membership = match &database {
                rapport_store::Database::Postgres { url, .. } if config.cluster => {
                    let membership =
                        live::cluster::Membership::join(url, &state.hub, bus, clock).await?;
                    state.bus = Arc::new(membership.bus());
                    Some(membership)
                }
                _ => None,
            };
            let metrics = match config.metrics_listen {
                Some(addr) => {
                    let handle = crate::metrics::recorder()?;
                    let metrics_listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("listening for metrics on {addr}"))?;
                    tracing::info!(address = %addr, "metrics at /metrics");
                    Some(tokio::spawn(crate::metrics::serve(
                        metrics_listener,
                        state.clone(),
                        handle,
                    )))
                }
                None => None,
            };
            let smtp = match config.smtp_listen {
                Some(addr) => {
                    let smtp_listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("listening for SMTP on {addr}"))?;
                    Some(tokio::spawn(crate::email::listener::serve(
                        smtp_listener,
                        state.clone(),
                        crate::email::listener::SmtpLimits::from_config(&config),
                    )))
                }
                None => None,
            };
            crate::serve(listener, state, shutdown_signal()).await?;
            if let Some(membership) = membership {
                membership.leave().await;
            }
            if let Some(metrics) = metrics {
                let _ = metrics.await;
            }
            // The SMTP listener stops with the server: let its sessions end.
            if let Some(smtp) = smtp {
                let _ = smtp.await;
            }
            tracing::info!("rapport stopped");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn import_articles(
    store: &dyn rapport_core::ports::store::Store,
    dir: &std::path::Path,
    app_id: &str,
) -> anyhow::Result<ExitCode> {
    let workspace = match store.workspace_by_app_id(app_id).await {
        Ok(ws) => ws,
        Err(rapport_core::ports::store::StoreError::NotFound) => {
            eprintln!("rapport: --app-id: no workspace has this app id");
            return Ok(ExitCode::from(REFUSED));
        }
        Err(err) => return Err(err.into()),
    };
    let mut files = Vec::new();
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .with_context(|| format!("reading {}", dir.display()))?;
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md")
            || !entry.file_type().await?.is_file()
        {
            continue;
        }
        if files.len() as u64 >= rapport_core::model::knowledge::MAX_ARTICLES {
            eprintln!(
                "rapport: more than {} articles in {}",
                rapport_core::model::knowledge::MAX_ARTICLES,
                dir.display()
            );
            return Ok(ExitCode::from(REFUSED));
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.metadata().await?.len() > MAX_ARTICLE_FILE_BYTES {
            eprintln!("rapport: {name}: larger than {MAX_ARTICLE_FILE_BYTES} bytes");
            return Ok(ExitCode::from(REFUSED));
        }
        let text = tokio::fs::read_to_string(&path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        files.push((name, text));
    }
    files.sort();
    let fields = match crate::api::articles::read_files(&files) {
        Ok(fields) => fields,
        Err(err) => {
            for field in err.0 {
                eprintln!("rapport: {}", field.message);
            }
            return Ok(ExitCode::from(REFUSED));
        }
    };
    match store
        .import_articles(
            workspace.id,
            fields,
            None,
            rapport_core::ports::clock::Clock::now(&SystemClock),
        )
        .await
    {
        Ok(done) => {
            println!(
                "{}",
                serde_json::json!({"created": done.created, "updated": done.updated, "unchanged": done.unchanged})
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(rapport_core::ports::store::StoreError::Conflict(why)) => {
            eprintln!("rapport: {why}");
            Ok(ExitCode::from(REFUSED))
        }
        Err(err) => Err(err.into()),
    }
}

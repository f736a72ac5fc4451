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
}

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
        Command::Serve { .. } => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("listening on {}", config.listen))?;
            tracing::info!(
                address = %listener.local_addr()?,
                database = database.backend_name(),
                "rapport is serving"
            );
            let state = AppState::new(
                store,
                live::LocalBus::default(),
                Arc::new(SystemClock),
                &config,
            )?;
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

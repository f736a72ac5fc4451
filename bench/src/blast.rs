//! `rapport-bench smtp-blast`: how fast an SMTP server takes plain emails
//! from the client Rapport sends with (bench/email.sh measures its sink
//! with it).
//!
//! Sends `--count` emails through the server's own SMTP pool
//! (`--client rapport`: lettre's client on no-delay sockets, a 30 s timeout,
//! `--concurrency` connections) or lettre's pooled `AsyncSmtpTransport`
//! (`--client lettre`, what the server used before), `--concurrency` sends
//! in flight at once.
//! Email `i` goes to `blast-i@example.com` with the Message-ID
//! `<blast-i@bench.test>` and a plain-text body of about `--body-bytes`.
//! The rate is the emails accepted over the time from the first send
//! starting to the last one ending.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures::{StreamExt, stream};
use lettre::message::header::ContentType;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rapport_server::email::smtp::{SmtpPool, SmtpServer};
use serde_json::json;

use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SMTP server, as the server's RAPPORT_SMTP_URL: smtp://HOST:PORT.
    #[arg(long, default_value = "smtp://127.0.0.1:2525")]
    url: String,
    /// Emails to send.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Which client sends.
    #[arg(long, value_enum, default_value_t = Client::Rapport)]
    client: Client,
    /// Sends in flight at once, and the pool's size (the server's
    /// email_concurrency).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// The body's size in bytes. The default makes emails of about the
    /// size of the server's fallback emails (3.1 KB with headers).
    #[arg(long, default_value_t = 2800)]
    body_bytes: usize,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Client {
    /// The server's pool: `rapport_server::email::smtp::SmtpPool`.
    Rapport,
    /// lettre's pooled `AsyncSmtpTransport`.
    Lettre,
}

enum Transport {
    Rapport(SmtpPool),
    Lettre(AsyncSmtpTransport<Tokio1Executor>),
}

impl Transport {
    fn new(client: Client, url: &str, size: usize) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(30);
        Ok(match client {
            Client::Rapport => {
                let server = SmtpServer::from_url(url)
                    .map_err(|why| anyhow::anyhow!("--url {url}: {why}"))?;
                Self::Rapport(SmtpPool::new(server, size, timeout))
            }
            Client::Lettre => Self::Lettre(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .with_context(|| format!("--url {url}"))?
                    .timeout(Some(timeout))
                    .pool_config(PoolConfig::new().max_size(u32::try_from(size)?))
                    .build(),
            ),
        })
    }

    async fn send(&self, email: Message) -> anyhow::Result<()> {
        match self {
            Self::Rapport(pool) => pool.send(&email).await?,
            Self::Lettre(transport) => drop(transport.send(email).await?),
        }
        Ok(())
    }

    async fn shutdown(&self) {
        if let Self::Lettre(transport) = self {
            transport.shutdown().await;
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.count > 0, "--count must be at least 1");
    ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let transport = Transport::new(args.client, &args.url, args.concurrency)?;
    let body = body(args.body_bytes);

    eprintln!(
        "smtp-blast: {} emails to {}, {} at once, {:?} client",
        args.count, args.url, args.concurrency, args.client
    );
    let started = Instant::now();
    let failed = stream::iter(0..args.count)
        .map(|index| {
            let (transport, body) = (&transport, &body);
            async move {
                let email = Message::builder()
                    .from("Acme <support@acme.test>".parse()?)
                    .to(format!("blast-{index}@example.com").parse()?)
                    .subject(format!("Blast {index}"))
                    .message_id(Some(format!("<blast-{index}@bench.test>")))
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.clone())?;
                transport.send(email).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(args.concurrency)
        .fold(0usize, |failed, outcome| async move {
            match outcome {
                Ok(()) => failed,
                Err(why) => {
                    report::show_error("smtp-blast: ", format_args!("{why:#}"));
                    failed + 1
                }
            }
        })
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    transport.shutdown().await;

    let sent = args.count - failed;
    let per_s = sent as f64 / elapsed;
    let summary = format!(
        "{sent} sent, {failed} failed in {elapsed:.2} s: {per_s:.0} emails/s ({} at once, {} body bytes)",
        args.concurrency, args.body_bytes
    );
    let report = json!({
        "count": args.count,
        "sent": sent,
        "errors": failed,
        "concurrency": args.concurrency,
        "client": format!("{:?}", args.client).to_lowercase(),
        "body_bytes": args.body_bytes,
        "elapsed_s": elapsed,
        "emails_per_s": per_s,
    });
    report::print(args.json, "smtp-blast: ", &summary, &report);
    Ok(())
}

/// About `bytes` of plain text in lines of 76 characters.
fn body(bytes: usize) -> String {
    const LINE: &str =
        "Your order has shipped and is on its way. Reply to this email with questions";
    let mut body = String::with_capacity(bytes + LINE.len() + 2);
    while body.len() < bytes {
        body.push_str(LINE);
        body.push_str("\r\n");
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_short_lines() {
        let text = body(1000);
        assert!(text.len() >= 1000 && text.len() < 1100);
        assert!(text.lines().all(|line| line.len() <= 78));
    }
}

//! `rapport-bench seed-emails`: contacts with email addresses, each sent one
//! chat message, so that each has an email fallback job (bench/email.sh).
//!
//! For `i` in `0..--count`, `--concurrency` at a time: upserts the contact
//! `user_id = email-i`, `email = contact-i@example.com`
//! (`POST /api/v1/contacts`), then sends it one message in a new
//! conversation (`POST /api/v1/messages`), whose job is due after the
//! workspace's fallback delay. It reports when the first message's POST
//! started and the last one's ended (Unix ms), so a caller knows when every
//! job is due.

use std::time::{Instant, SystemTime};

use anyhow::ensure;
use futures::{StreamExt, stream};
use reqwest::StatusCode;
use serde_json::json;

use crate::api::{Api, ApiToken, ServerUrl, http_client, string_field};
use crate::report;
use crate::sink::unix_ms;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerUrl,
    #[command(flatten)]
    auth: ApiToken,
    /// Contacts to create, each sent one message.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Contacts in flight at once (each: its upsert, then its message).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

/// One contact's two requests: when its message's POST started and ended.
struct Sent {
    started_ms: f64,
    ended_ms: f64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.count > 0, "--count must be at least 1");
    ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let api = Api::new(http_client(args.concurrency)?, &args.server.url, &args.auth);

    eprintln!(
        "seed-emails: {} contacts with an email address and one message each, {} at once",
        args.count, args.concurrency
    );
    let started = Instant::now();
    let outcomes: Vec<anyhow::Result<Sent>> = stream::iter(0..args.count)
        .map(|index| {
            let api = &api;
            async move {
                let contact = json!({
                    "user_id": format!("email-{index}"),
                    "email": format!("contact-{index}@example.com"),
                    "name": format!("Contact {index}"),
                });
                let contact = api
                    .post(
                        "/contacts",
                        &contact,
                        &[StatusCode::CREATED, StatusCode::OK],
                    )
                    .await
                    .map_err(anyhow::Error::msg)?;
                let id = string_field(&contact, "/id")?;
                let message = json!({
                    "contact_id": id,
                    "body": "Hi {{ user.name | default(\"there\") }}, your order has shipped.",
                });
                let started_ms = unix_ms(SystemTime::now());
                api.post("/messages", &message, &[StatusCode::CREATED])
                    .await
                    .map_err(anyhow::Error::msg)?;
                Ok(Sent {
                    started_ms,
                    ended_ms: unix_ms(SystemTime::now()),
                })
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();

    let (mut first_ms, mut last_ms, mut sent, mut errors) = (f64::MAX, 0.0f64, 0usize, 0usize);
    for outcome in outcomes {
        match outcome {
            Ok(message) => {
                sent += 1;
                first_ms = first_ms.min(message.started_ms);
                last_ms = last_ms.max(message.ended_ms);
            }
            Err(why) => {
                errors += 1;
                report::show_error("seed-emails: ", format_args!("{why:#}"));
            }
        }
    }
    if sent == 0 {
        first_ms = 0.0;
    }
    let per_s = sent as f64 / elapsed;
    let summary = format!(
        "{sent} contacts sent a message, {errors} failed, in {elapsed:.1} s ({per_s:.0} contacts/s)"
    );
    let report = json!({
        "count": args.count,
        "messages": sent,
        "errors": errors,
        "elapsed_s": elapsed,
        "per_s": per_s,
        "first_message_unix_ms": first_ms.floor() as u64,
        "last_message_unix_ms": last_ms.ceil() as u64,
    });
    report::print(args.json, "seed-emails: ", &summary, &report);
    ensure!(errors == 0, "{errors} contacts could not be seeded");
    Ok(())
}

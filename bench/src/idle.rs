//! `rapport-bench idle`: connection density.
//!
//! Boots `--connections` visitors, lets the server settle and reads its
//! memory (the baseline), then opens one widget socket per visitor, each
//! from a loopback source address of its own round-robin (127.0.0.2 to
//! 127.0.0.250), says hello and waits for `ready`, `--concurrency` at a
//! time. Once all are open and have been idle for `--settle`, it reads the
//! server's memory again: the difference over the open sockets is the
//! memory per idle connection. It keeps them open (answering the server's
//! pings) until `--hold` has passed since the last one opened, reads the
//! memory a last time and closes them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::ensure;
use futures::StreamExt;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::api::{AppId, ServerUrl, http_client};
use crate::parse_duration;
use crate::report;
use crate::widget::{self, Memory, Server, Socket};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerUrl,
    #[command(flatten)]
    app: AppId,
    /// Widget sockets to open and hold.
    #[arg(long, default_value_t = 15_000)]
    connections: usize,
    /// How long to hold them all open (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    hold: Duration,
    /// How long to wait, idle, before each memory reading.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    settle: Duration,
    /// The server's process id, to read its memory from /proc.
    #[arg(long)]
    server_pid: u32,
    /// Boots and socket openings in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.connections > 0, "--connections must be at least 1");
    ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    widget::ensure_files_for(args.connections)?;
    let server = Arc::new(Server::resolve(&args.server.url).await?);
    widget::memory(args.server_pid)?;

    eprintln!("booting {} visitors...", args.connections);
    let visitors = {
        // Dropped before the baseline: its pooled connections are gone.
        let http = http_client(args.concurrency)?;
        widget::boot_visitors(
            &http,
            &server,
            &args.app.app_id,
            args.connections,
            args.concurrency,
        )
        .await?
    };
    tokio::time::sleep(args.settle).await;
    let before = widget::memory(args.server_pid)?;
    let kernel_before = widget::kernel_slab_kib();
    eprintln!(
        "server RSS before: {} KiB; opening {} sockets, {} at a time...",
        before.rss_kib, args.connections, args.concurrency
    );

    let opening = Instant::now();
    let limiter = Arc::new(Semaphore::new(args.concurrency));
    let (opened, mut outcomes) = mpsc::unbounded_channel::<Result<(), String>>();
    let (stop, stopped) = watch::channel(false);
    let closed_early = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(visitors.len());
    for (index, visitor) in visitors.into_iter().enumerate() {
        let (server, limiter, opened) = (server.clone(), limiter.clone(), opened.clone());
        let (stopped, closed_early) = (stopped.clone(), closed_early.clone());
        tasks.push(tokio::spawn(async move {
            let permit = limiter.acquire_owned().await;
            let socket = widget::open_widget(&server, server.source(index), &visitor.session).await;
            drop(permit);
            match socket {
                Ok(socket) => {
                    let _ = opened.send(Ok(()));
                    if !hold(socket, stopped).await {
                        closed_early.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(err) => {
                    let _ = opened.send(Err(format!("{err:#}")));
                }
            }
        }));
    }
    drop(opened);

    let (mut connected, mut failed) = (0usize, 0usize);
    let mut progress = tokio::time::interval(Duration::from_secs(5));
    progress.tick().await;
    while connected + failed < args.connections {
        tokio::select! {
            outcome = outcomes.recv() => match outcome {
                Some(Ok(())) => connected += 1,
                Some(Err(why)) => {
                    failed += 1;
                    report::show_error("", why);
                }
                None => break,
            },
            _ = progress.tick() => eprintln!("  {connected} open, {failed} failed..."),
        }
    }
    let open_s = opening.elapsed().as_secs_f64();
    let all_open = Instant::now();
    eprintln!(
        "{connected} open ({failed} failed) in {open_s:.1} s; idle for {:?}...",
        args.settle
    );

    tokio::time::sleep(args.settle).await;
    let after = widget::memory(args.server_pid)?;
    let kernel_after = widget::kernel_slab_kib();
    tokio::time::sleep_until((all_open + args.hold).into()).await;
    let end = widget::memory(args.server_pid)?;
    let dropped = closed_early.load(Ordering::Relaxed);

    let _ = stop.send(true);
    for task in tasks {
        task.await?;
    }

    report(
        &args,
        Outcome {
            connected,
            failed,
            dropped,
            open_s,
            before,
            after,
            end,
            kernel_before,
            kernel_after,
        },
    );
    Ok(())
}

/// Reads (and so answers pings) until told to stop; `false` if the socket
/// ended first.
async fn hold(mut socket: Socket, mut stop: watch::Receiver<bool>) -> bool {
    loop {
        tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return false,
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => return true,
        }
    }
}

struct Outcome {
    connected: usize,
    failed: usize,
    dropped: usize,
    open_s: f64,
    before: Memory,
    after: Memory,
    end: Memory,
    kernel_before: Option<u64>,
    kernel_after: Option<u64>,
}

/// Prints the summary line and, with `--json`, the JSON object.
fn report(args: &Args, outcome: Outcome) {
    let Outcome {
        connected,
        failed,
        dropped,
        open_s,
        before,
        after,
        end,
        kernel_before,
        kernel_after,
    } = outcome;
    let per = |before: u64, after: u64| (after as f64 - before as f64) / connected.max(1) as f64;
    let kib_per_connection = per(before.rss_kib, after.rss_kib);
    let anon_kib_per_connection = per(before.anon_kib, after.anon_kib);
    let slab_kib_per_connection = match (kernel_before, kernel_after) {
        (Some(before), Some(after)) => per(before, after),
        _ => 0.0,
    };
    let summary = format!(
        "{connected} idle widget sockets ({failed} failed to open, {dropped} closed early), \
         opened in {open_s:.1} s: server RSS {} -> {} KiB ({} KiB after {:?} held) = \
         {kib_per_connection:.2} KiB per connection (anonymous memory: \
         {anon_kib_per_connection:.2} KiB); kernel slab (system-wide, both ends) \
         {slab_kib_per_connection:.2} KiB per connection",
        before.rss_kib, after.rss_kib, end.rss_kib, args.hold
    );
    let report = json!({
        "connections": args.connections,
        "connected": connected,
        "failed": failed,
        "dropped": dropped,
        "open_s": open_s,
        "hold_s": args.hold.as_secs_f64(),
        "rss_before_kib": before.rss_kib,
        "rss_after_kib": after.rss_kib,
        "rss_end_kib": end.rss_kib,
        "anon_before_kib": before.anon_kib,
        "anon_after_kib": after.anon_kib,
        "kib_per_connection": kib_per_connection,
        "anon_kib_per_connection": anon_kib_per_connection,
        "slab_kib_per_connection": slab_kib_per_connection,
    });
    report::print(args.json, "", &summary, &report);
}

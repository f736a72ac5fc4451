//! Automations' webhook steps: each is a job (enqueued in the step's own
//! write) that POSTs the step's JSON to its URL, retried with back-off
//! until a 2xx (`RetryPolicy::WEBHOOK`).
//!
//! A webhook URL is the admin's, but where it leads is checked at every
//! call: its host is resolved here, every address must be public (not
//! loopback, private, link-local, shared or multicast) unless the server
//! allows private ones (`automation_webhooks_allow_private`), and the
//! request goes to exactly the addresses checked, with no redirects, so a
//! DNS answer that changes between the check and the call cannot point it
//! inward. Plain `http://` is refused unless private addresses are allowed
//! (a local test receiver).
//!
//! With a secret, `Rapport-Signature: t=<unix seconds>,v1=<hex>` is the
//! HMAC-SHA256 of `<t>.<body>`; `Rapport-Delivery` names the run and step
//! so a receiver can drop a repeat.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;
use hmac::{Hmac, Mac};
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;
use serde_json::Value as Json;
use sha2::Sha256;

use super::runner::{Outcome, Runner, fail_for_good, run_contained};
use crate::AppState;
use rapport_core::model::webhook::MAX_RESPONSE_LEN;

/// Calls made at once.
const CALLS_AT_ONCE: usize = 16;
/// The longest a call may take, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One webhook call's request, as the job holds it.
pub(super) struct Call {
    pub delivery: String,
    pub url: String,
    pub secret: Option<String>,
    pub body: Json,
}

/// Why a call did not get a 2xx.
pub(super) enum CallError {
    /// Never to succeed (a refused address or scheme): failed at once.
    Refused(String),
    /// May succeed later: retried.
    Failed(String),
}

/// Makes one round's webhook calls.
pub(super) async fn run(runner: &Runner, calls: Vec<(Call, ClaimedJob)>) {
    let state = runner.state();
    futures::stream::iter(calls)
        .for_each_concurrent(CALLS_AT_ONCE, |(call, job)| async move {
            if runner.stopping() {
                return runner.put_back(&job).await;
            }
            let result = run_contained(state, &job, async {
                Ok::<_, StoreError>(deliver(state, &call).await)
            })
            .await;
            match result {
                Some(Ok(Ok(()))) => {
                    if let Err(err) = state.store.finish_job(&job).await {
                        tracing::warn!(job = %job.id, error = %err, "a delivered webhook's job could not be settled; it may be delivered again");
                    }
                }
                Some(Ok(Err(CallError::Refused(why)))) => fail_for_good(state, &job, &why).await,
                Some(Ok(Err(CallError::Failed(why)))) => {
                    runner.conclude(&job, Some(Ok(Outcome::Failed(why)))).await;
                }
                Some(Err(err)) => runner.conclude(&job, Some(Err(err))).await,
                None => {}
            }
        })
        .await;
}

async fn deliver(state: &AppState, call: &Call) -> Result<(), CallError> {
    let body = serde_json::to_vec(&call.body).unwrap_or_default();
    let headers = [("rapport-delivery", call.delivery.clone())];
    let answer = post(state, &call.url, &headers, call.secret.as_deref(), body).await?;
    if answer.status.is_success() {
        Ok(())
    } else {
        Err(CallError::Failed(format!(
            "{} answered {}",
            answer.host, answer.status
        )))
    }
}

/// What a receiver answered.
pub(super) struct Answer {
    pub host: String,
    pub status: reqwest::StatusCode,
    /// The start of its body (at most `MAX_RESPONSE_LEN` bytes), as text.
    pub body: String,
}

/// POSTs `body` (JSON) to `url` with `headers`, signed with `secret` if
/// given, to the addresses its host resolves to once they are checked;
/// any HTTP answer is `Ok`.
pub(super) async fn post(
    state: &AppState,
    url: &str,
    headers: &[(&str, String)],
    secret: Option<&str>,
    body: Vec<u8>,
) -> Result<Answer, CallError> {
    let allow_private = state.automation_webhooks_allow_private;
    let url =
        reqwest::Url::parse(url).map_err(|e| CallError::Refused(format!("not a URL: {e}")))?;
    if url.scheme() != "https" && !(allow_private && url.scheme() == "http") {
        return Err(CallError::Refused(
            "webhooks are called over https only".into(),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| CallError::Refused("the URL has no host".into()))?
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::time::timeout(
        CALL_TIMEOUT,
        tokio::net::lookup_host((host.trim_matches(['[', ']']), port)),
    )
    .await
    .map_err(|_| CallError::Failed(format!("resolving {host} timed out")))?
    .map_err(|e| CallError::Failed(format!("resolving {host}: {e}")))?
    .collect();
    if addresses.is_empty() {
        return Err(CallError::Failed(format!("{host} has no address")));
    }
    if !allow_private && let Some(inward) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(CallError::Refused(format!(
            "{host} leads to {}, which is not a public address",
            inward.ip()
        )));
    }
    let client = reqwest::Client::builder()
        // A proxy from the environment would connect elsewhere than the
        // addresses checked.
        .no_proxy()
        .resolve_to_addrs(&host, &addresses)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CALL_TIMEOUT)
        .build()
        .map_err(|e| CallError::Failed(format!("no HTTP client: {e}")))?;
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "Rapport-Webhook");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(secret) = secret {
        let t = state.clock.now().as_millis() / 1_000;
        request = request.header("rapport-signature", signature(secret, t, &body));
    }
    let mut response = request
        .body(body)
        .send()
        .await
        .map_err(|e| CallError::Failed(format!("calling {host}: {e}")))?;
    let status = response.status();
    // Only the start of the answer is kept: read no more than that.
    let mut kept = Vec::new();
    while kept.len() < MAX_RESPONSE_LEN {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    kept.truncate(MAX_RESPONSE_LEN);
    let body = String::from_utf8_lossy(&kept).into_owned();
    Ok(Answer { host, status, body })
}

/// `t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether an address is on the public internet.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // Shared address space (carrier-grade NAT), "this network"
                // and benchmarking (198.18.0.0/15).
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) carry
            // an IPv4 address; 6to4 (2002::/16) one in its next 32 bits.
            let embedded = |hi: u16, lo: u16| {
                std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            if segments[..6] == [0; 6] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public(IpAddr::V4(embedded(segments[6], segments[7])));
            }
            if segments[0] == 0x2002 {
                return is_public(IpAddr::V4(embedded(segments[1], segments[2])));
            }
            let first = segments[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local (fc00::/7) and link-local (fe80::/10).
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_called() {
        for inward in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:c0a8:0101::1",
            "198.18.0.1",
        ] {
            assert!(!is_public(inward.parse().unwrap()), "{inward}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn the_signature_is_the_hmac_of_time_and_body() {
        let sig = signature("secret", 1_700_000_000, b"{}");
        assert!(sig.starts_with("t=1700000000,v1="));
        assert_eq!(sig.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(sig, signature("other", 1_700_000_000, b"{}"));
    }
}

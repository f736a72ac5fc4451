//! Who a connection comes from, for per-client limits: the client's IP
//! (read from `X-Forwarded-For` only when the TCP peer is a proxy this
//! server was told to trust) and the key it is counted under (IPv6 by /64,
//! since one subscriber usually holds a whole /64).
//!
//! Every per-IP limit (widget rate limits, login throttles, socket caps,
//! the SMTP listener) keys on `rate_key(client_ip(..))`, so a visitor
//! cannot get a fresh bucket by forging a header or rotating addresses
//! within their own network.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::AppState;
use crate::error::ApiError;

/// The proxies whose `X-Forwarded-For` is believed (the `trusted_proxies`
/// setting): IP addresses or CIDR ranges. Empty (the default) believes none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a `trusted_proxies` entry was not understood.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is neither an IP address nor a CIDR range (e.g. 10.0.0.0/8)")]
pub struct BadProxy(String);

impl FromStr for TrustedProxies {
    type Err = BadProxy;

    /// Comma-separated, as an environment variable gives it.
    fn from_str(list: &str) -> Result<Self, BadProxy> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(parse_net)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

fn parse_net(entry: &str) -> Result<IpNet, BadProxy> {
    entry
        .parse::<IpNet>()
        .map(|net| match net {
            // An IPv4-mapped range is that IPv4 range: addresses are compared
            // after `canonical`.
            IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
                Some(v4) => {
                    IpNet::new(IpAddr::V4(v4), v6.prefix_len().saturating_sub(96)).unwrap_or(net)
                }
                None => net,
            },
            IpNet::V4(_) => net,
        })
        .or_else(|_| entry.parse::<IpAddr>().map(|ip| IpNet::from(canonical(ip))))
        .map_err(|_| BadProxy(entry.to_owned()))
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        f.write_str(&list.join(","))
    }
}

impl Serialize for TrustedProxies {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(IpNet::to_string))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    /// A list in a file (`["10.0.0.0/8", "::1"]`), or one comma-separated
    /// string from the environment (`RAPPORT_TRUSTED_PROXIES=10.0.0.1,::1`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            List(Vec<String>),
            One(String),
        }
        let entries = match Given::deserialize(deserializer)? {
            Given::List(list) => list,
            Given::One(one) => vec![one],
        };
        let mut nets = Vec::new();
        for entry in entries {
            let parsed: TrustedProxies = entry.parse().map_err(serde::de::Error::custom)?;
            nets.extend(parsed.0);
        }
        Ok(Self(nets))
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy,
/// in which case the right-most `X-Forwarded-For` address that is not
/// itself a trusted proxy. Entries further left were written by the client
/// and are never believed.
pub fn client_ip(headers: &HeaderMap, peer: IpAddr, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    // Several headers count as one list, in order (RFC 9110, 5.3).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // Garbage written by a trusted proxy: a misconfiguration, so go
            // no further than the last hop that made sense.
            return nearest;
        };
        if !trusted.contains(ip) {
            return ip;
        }
        nearest = ip;
    }
    nearest
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:5678`) as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(canonical)
}

/// The key a client is counted under: an IPv4 address as it is, an IPv6
/// address by its /64 (the smallest block a subscriber is usually given).
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 => v4,
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack
/// listener reports) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Open connections per client key (`rate_key`: IPv6 by /64), for caps on
/// what one client may hold at once (SMTP sessions, sockets not yet
/// identified).
#[derive(Default)]
pub struct ClientCounts(Mutex<HashMap<IpAddr, usize>>);

/// One connection's place in [`ClientCounts`], given back on drop.
pub struct ClientSlot {
    counts: Arc<ClientCounts>,
    key: IpAddr,
}

impl ClientCounts {
    /// A place for one more connection of `ip`'s client, or `None` when it
    /// already holds `cap`.
    pub fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<ClientSlot> {
        let key = rate_key(ip);
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(key).or_default();
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            counts: self.clone(),
            key,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Extractor: the client's address as [`client_ip`] finds it, for handlers
/// that limit per client (pass it through [`rate_key`] to count it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "the server was started without connection info"
                ))
            })?;
        Ok(Self(client_ip(
            &parts.headers,
            peer,
            &state.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn ipv6_is_counted_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(rate_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            rate_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            rate_key(ip("2001:db8:1:2::7"))
        );
        assert_ne!(
            rate_key(ip("2001:db8:1:3::1")),
            rate_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(rate_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(rate_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_ne!(rate_key(ip("203.0.113.9")), rate_key(ip("203.0.113.10")));
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let headers = forwarded(&["198.51.100.7"]);
        let none = TrustedProxies::default();
        assert_eq!(
            client_ip(&headers, ip("203.0.113.1"), &none),
            ip("203.0.113.1")
        );
        let other: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            client_ip(&headers, ip("203.0.113.1"), &other),
            ip("203.0.113.1")
        );
        let trusted: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        assert_eq!(
            client_ip(&headers, ip("10.1.2.3"), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(&headers, ip("::1"), &trusted), ip("198.51.100.7"));
        // A dual-stack listener reports the proxy as ::ffff:10.1.2.3.
        assert_eq!(
            client_ip(&headers, ip("::ffff:10.1.2.3"), &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_wins_and_forged_entries_are_not_believed() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let proxy = ip("10.0.0.2");
        // The client wrote the first two; our proxies appended the rest.
        let headers = forwarded(&["1.1.1.1, 2.2.2.2", "198.51.100.7, 10.0.0.9"]);
        assert_eq!(client_ip(&headers, proxy, &trusted), ip("198.51.100.7"));
        // Ports and brackets, as some proxies write them.
        let headers = forwarded(&["[2001:db8::5]:4711"]);
        assert_eq!(client_ip(&headers, proxy, &trusted), ip("2001:db8::5"));
        let headers = forwarded(&["198.51.100.8:4711"]);
        assert_eq!(client_ip(&headers, proxy, &trusted), ip("198.51.100.8"));
        // Nothing usable: the nearest hop that made sense.
        assert_eq!(client_ip(&HeaderMap::new(), proxy, &trusted), proxy);
        let headers = forwarded(&["nonsense, 10.0.0.9"]);
        assert_eq!(client_ip(&headers, proxy, &trusted), ip("10.0.0.9"));
        // Only trusted hops: the client is the furthest of them.
        let headers = forwarded(&["10.9.9.9, 10.0.0.9"]);
        assert_eq!(client_ip(&headers, proxy, &trusted), ip("10.9.9.9"));
    }

    #[test]
    fn the_setting_takes_addresses_and_ranges() {
        let parsed: TrustedProxies = "127.0.0.1, 10.0.0.0/8,fd00::/8, ::ffff:192.0.2.0/120"
            .parse()
            .unwrap();
        assert!(parsed.contains(ip("127.0.0.1")));
        assert!(!parsed.contains(ip("127.0.0.2")));
        assert!(parsed.contains(ip("10.200.0.1")));
        assert!(parsed.contains(ip("fd12::1")));
        assert!(parsed.contains(ip("192.0.2.77")));
        assert!(parsed.contains(ip("::ffff:127.0.0.1")));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.internal".parse::<TrustedProxies>().is_err());
        let from_list: TrustedProxies =
            serde_json::from_str(r#"["10.0.0.1", "2001:db8::/32"]"#).unwrap();
        assert!(from_list.contains(ip("2001:db8:ff::1")));
        assert_eq!(
            serde_json::to_string(&from_list).unwrap(),
            r#"["10.0.0.1/32","2001:db8::/32"]"#
        );
    }
}

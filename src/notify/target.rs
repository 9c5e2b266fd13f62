//! Where webhooks may go: the guard against server-side request forgery.
//!
//! A webhook URL is chosen by whoever holds the admin token, and the server
//! POSTs to it from inside the network. Unless `--allow-private-webhooks`
//! is given, a URL is refused when its host is (or resolves to) a loopback,
//! private, link-local, unique-local, shared (CGNAT), multicast, reserved or
//! unspecified address, whatever its spelling (`2130706433`, `0x7f.1`,
//! `[::ffff:127.0.0.1]`). The check runs at registration and again inside
//! the delivery client's resolver, on the very addresses it connects to,
//! so a name that later resolves inward (DNS rebinding) is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Longest webhook URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// Why a webhook target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Longer than [`MAX_URL_LEN`].
    #[error("webhook url is {0} bytes long; at most {MAX_URL_LEN} are accepted")]
    TooLong(usize),
    /// Not a URL.
    #[error("webhook url {url:?} is not a URL: {reason}")]
    Invalid {
        /// The text given.
        url: String,
        /// What the parser said.
        reason: String,
    },
    /// Not http(s), or no host.
    #[error("webhook url {0:?} must be an http or https URL with a host")]
    Scheme(String),
    /// The host name does not resolve.
    #[error("webhook host {host} cannot be resolved: {reason}")]
    Unresolvable {
        /// The host.
        host: String,
        /// The resolver's error.
        reason: String,
    },
    /// The host is or resolves to an internal address.
    #[error("webhook host {host} is {addr}, a {kind} address; internal receivers need --allow-private-webhooks")]
    Internal {
        /// The host as written.
        host: String,
        /// The address it is or resolves to.
        addr: IpAddr,
        /// Which kind of internal address.
        kind: &'static str,
    },
}

/// The kind of internal address `ip` is, or `None` for a public one.
/// IPv6 addresses that embed an IPv4 one (mapped `::ffff:a.b.c.d`,
/// compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) are judged by it.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => "unspecified",
        (0, _, _) => "unspecified (this-network)",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "IETF protocol assignment",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved or broadcast",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return v4_kind(v4);
    }
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xfc00..=0xfdff => "unique-local",
        0xff00..=0xffff => "multicast",
        _ => return None,
    })
}

/// The IPv4 address inside a mapped, compatible or NAT64 IPv6 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    // `::a.b.c.d` (deprecated "compatible"), but not `::` and `::1`.
    let compatible = s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1);
    (nat64 || compatible).then_some(tail)
}

/// Refuses `addr` for `host` when it is internal and not allowed.
fn check_addr(host: &str, addr: IpAddr, allow_private: bool) -> Result<(), TargetError> {
    match internal_kind(addr) {
        Some(kind) if !allow_private => Err(TargetError::Internal {
            host: host.to_string(),
            addr,
            kind,
        }),
        _ => Ok(()),
    }
}

/// Checks what can be checked without DNS: length, syntax, scheme, host,
/// and the address when the host is an IP literal.
pub fn check_url(url: &str, allow_private: bool) -> Result<Url, TargetError> {
    if url.len() > MAX_URL_LEN {
        return Err(TargetError::TooLong(url.len()));
    }
    let parsed = Url::parse(url).map_err(|e| TargetError::Invalid {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::Scheme(url.to_string()));
    }
    let Some(host) = parsed.host_str() else {
        return Err(TargetError::Scheme(url.to_string()));
    };
    if let Some(ip) = literal_ip(host) {
        check_addr(host, ip, allow_private)?;
    }
    Ok(parsed)
}

/// The address of a host that is an IP literal. The URL parser has already
/// turned every IPv4 spelling (`2130706433`, `0x7f.1`) into dotted form and
/// put IPv6 in brackets.
fn literal_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// [`check_url`], then resolves a host name and refuses it if any of its
/// addresses is internal: the check made when a webhook is registered.
pub async fn check_target(url: &str, allow_private: bool) -> Result<Url, TargetError> {
    let parsed = check_url(url, allow_private)?;
    if let Some(host) = parsed.host_str() {
        if !allow_private && literal_ip(host).is_none() {
            resolve_public(host).await?;
        }
    }
    Ok(parsed)
}

/// The addresses of `host`, or an error if it has none or any is internal.
async fn resolve_public(host: &str) -> Result<Vec<SocketAddr>, TargetError> {
    let unresolvable = |reason: String| TargetError::Unresolvable {
        host: host.to_string(),
        reason,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| unresolvable(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(unresolvable("no address".into()));
    }
    for addr in &addrs {
        check_addr(host, addr.ip(), false)?;
    }
    Ok(addrs)
}

/// The delivery client's resolver: the system resolver, refusing any name
/// with an internal address (checked on the addresses then connected to).
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve_public(&host).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_in_any_spelling_are_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://127.1:8080/x",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://0.0.0.0/",
            "http://0/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[ff02::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::10.0.0.1]/",
        ] {
            let err = check_url(url, false).unwrap_err();
            assert!(matches!(err, TargetError::Internal { .. }), "{url}: {err}");
            assert!(
                err.to_string().contains("--allow-private-webhooks"),
                "{err}"
            );
            assert!(check_url(url, true).is_ok(), "{url} with the opt-in");
        }
    }

    #[test]
    fn public_addresses_and_names_pass_the_syntax_check() {
        for url in [
            "https://93.184.216.34/hook",
            "http://8.8.8.8:8080/",
            "https://[2001:4860:4860::8888]/",
            "https://[::ffff:8.8.8.8]/",
            "https://hooks.example/advisord",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
        ] {
            assert!(check_url(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn malformed_long_and_non_http_urls_are_refused() {
        assert!(matches!(
            check_url("not a url", false),
            Err(TargetError::Invalid { .. })
        ));
        for url in ["ftp://example.org/", "file:///etc/passwd", "mailto:a@b"] {
            assert!(
                matches!(check_url(url, true), Err(TargetError::Scheme(_))),
                "{url}"
            );
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(
            check_url(&long, true),
            Err(TargetError::TooLong(long.len()))
        );
    }

    #[tokio::test]
    async fn names_resolving_inward_are_refused_at_registration_and_by_the_resolver() {
        // `localhost` resolves to loopback on every test machine.
        let err = check_target("http://localhost:9/", false)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                TargetError::Internal {
                    kind: "loopback",
                    ..
                }
            ),
            "{err}"
        );
        assert!(check_target("http://localhost:9/", true).await.is_ok());
        let name: Name = "localhost".parse().unwrap();
        let refused = PublicOnlyResolver.resolve(name).await;
        assert!(refused.is_err());
    }
}

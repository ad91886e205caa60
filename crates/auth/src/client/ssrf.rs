//! The SSRF guard: which URLs and addresses the OAuth client may fetch.
//!
//! A malicious MCP server controls the PRM document, which names the authorization server,
//! whose metadata names the endpoints. Without a guard the client could be steered at cloud
//! metadata services or the user's LAN. Every URL is checked before the request (scheme, IP
//! literal hosts), host names are resolved by a guarded DNS resolver, which refuses if *any*
//! resolved address is forbidden (the connection then uses exactly the checked addresses: no
//! second lookup to rebind), and each redirect hop goes through the same checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

use super::error::AuthError;

/// Which URLs the client may fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SsrfPolicy {
    allow_http: bool,
    allow_loopback: bool,
}

impl Default for SsrfPolicy {
    fn default() -> Self {
        Self::strict()
    }
}

impl SsrfPolicy {
    /// Production: `https` only; only public unicast addresses (no loopback, private,
    /// link-local, unique-local, CGNAT, metadata, multicast or reserved ranges).
    pub const fn strict() -> Self {
        Self {
            allow_http: false,
            allow_loopback: false,
        }
    }

    /// Development and tests: also allows plain `http` and loopback addresses (`localhost`,
    /// `127.0.0.0/8`, `::1`). Private, link-local and metadata addresses stay forbidden.
    pub const fn danger_allow_loopback_http() -> Self {
        Self {
            allow_http: true,
            allow_loopback: true,
        }
    }

    /// Whether plain `http` URLs are allowed.
    pub const fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// Decides whether a connection to `ip` is allowed; the error names the address class.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), IpClass> {
        match classify(ip) {
            IpClass::Public => Ok(()),
            IpClass::Loopback if self.allow_loopback => Ok(()),
            other => Err(other),
        }
    }

    /// Checks a URL before it is fetched: scheme, no credentials, and the host if it is an IP
    /// literal. Host names are checked after resolution, by the fetcher's DNS resolver.
    pub fn check_url(&self, url: &Url) -> Result<(), AuthError> {
        let deny = |reason: String| AuthError::SsrfBlocked {
            url: url.as_str().to_owned(),
            reason,
        };
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(deny("plain http is not allowed (https required)".into())),
            s => return Err(deny(format!("scheme {s:?} is not allowed"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(deny(
                "URLs with embedded credentials are not allowed".into(),
            ));
        }
        let ip = match url.host() {
            None => return Err(deny("no host".into())),
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if (d == "localhost" || d.ends_with(".localhost")) && !self.allow_loopback {
                    return Err(deny(format!("{} is a loopback name", d)));
                }
                return Ok(());
            }
        };
        self.check_ip(ip)
            .map_err(|class| deny(format!("{ip} is a {class} address")))
    }
}

/// The class of an IP address, as far as the SSRF guard cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpClass {
    /// Public unicast.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`) and IPv6 site-local `fec0::/10`.
    Private,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// IPv6 unique-local `fc00::/7`.
    UniqueLocal,
    /// Shared address space (carrier-grade NAT) `100.64/10`.
    SharedCgnat,
    /// Cloud instance metadata: `169.254.169.254`, `fd00:ec2::254`.
    Metadata,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// Multicast and broadcast.
    Multicast,
    /// Documentation, benchmarking, IETF-reserved, Teredo and other special-purpose ranges.
    Reserved,
}

impl std::fmt::Display for IpClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique-local",
            Self::SharedCgnat => "shared (CGNAT)",
            Self::Metadata => "cloud metadata",
            Self::Unspecified => "unspecified",
            Self::Multicast => "multicast/broadcast",
            Self::Reserved => "reserved",
        })
    }
}

/// Classifies an address. IPv4 addresses embedded in IPv6 (mapped `::ffff:0:0/96`,
/// compatible `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are classified as IPv4.
pub fn classify(ip: IpAddr) -> IpClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> IpClass {
    let [a, b, c, _] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        // AWS/GCP/Azure, and Alibaba Cloud's metadata address.
        return IpClass::Metadata;
    }
    match (a, b, c) {
        (0, _, _) => IpClass::Unspecified,
        (127, _, _) => IpClass::Loopback,
        (10, _, _) | (192, 168, _) => IpClass::Private,
        (172, 16..=31, _) => IpClass::Private,
        (169, 254, _) => IpClass::LinkLocal,
        (100, 64..=127, _) => IpClass::SharedCgnat,
        (224..=239, _, _) | (255, 255, 255) => IpClass::Multicast,
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) => {
            IpClass::Reserved
        }
        (240..=255, _, _) => IpClass::Reserved,
        _ => IpClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> IpClass {
    let seg = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return IpClass::Metadata;
    }
    if ip.is_unspecified() {
        return IpClass::Unspecified;
    }
    if ip.is_loopback() {
        return IpClass::Loopback;
    }
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (deprecated compatible).
    if seg[..5] == [0, 0, 0, 0, 0] && (seg[5] == 0xffff || seg[5] == 0) {
        return classify_v4(embedded(seg[6], seg[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(seg[6], seg[7]));
    }
    // 6to4 2002:AABB:CCDD::/48.
    if seg[0] == 0x2002 {
        return classify_v4(embedded(seg[1], seg[2]));
    }
    match seg[0] {
        s if s & 0xfe00 == 0xfc00 => IpClass::UniqueLocal,
        s if s & 0xffc0 == 0xfe80 => IpClass::LinkLocal,
        s if s & 0xffc0 == 0xfec0 => IpClass::Private,
        s if s & 0xff00 == 0xff00 => IpClass::Multicast,
        // Teredo 2001::/32, documentation 2001:db8::/32, and 64:ff9b:1::/48 local-use NAT64.
        0x2001 if seg[1] == 0 || seg[1] == 0x0db8 => IpClass::Reserved,
        0x0064 if seg[1] == 0xff9b => IpClass::Reserved,
        // Anything outside global unicast 2000::/3 is not routable on the Internet.
        s if s & 0xe000 != 0x2000 => IpClass::Reserved,
        _ => IpClass::Public,
    }
}

/// The error a [`GuardedResolver`] returns; recognised in the error chain to report
/// [`AuthError::SsrfBlocked`] instead of a generic HTTP failure.
#[derive(Debug)]
pub(crate) struct ResolveDenied {
    pub(crate) host: String,
    pub(crate) reason: String,
}

impl std::fmt::Display for ResolveDenied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.host, self.reason)
    }
}

impl std::error::Error for ResolveDenied {}

/// A DNS resolver for reqwest that refuses names resolving to forbidden addresses.
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    pub(crate) policy: SsrfPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(ResolveDenied {
                    host,
                    reason: "resolved to no address".into(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            for a in &addrs {
                if let Err(class) = policy.check_ip(a.ip()) {
                    return Err(Box::new(ResolveDenied {
                        reason: format!("resolves to {} ({class})", a.ip()),
                        host,
                    })
                        as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl GuardedResolver {
    pub(crate) fn shared(policy: SsrfPolicy) -> Arc<Self> {
        Arc::new(Self { policy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn ipv4_classes() {
        assert_eq!(v4("8.8.8.8"), IpClass::Public);
        assert_eq!(v4("93.184.216.34"), IpClass::Public);
        assert_eq!(v4("127.0.0.1"), IpClass::Loopback);
        assert_eq!(v4("127.255.0.9"), IpClass::Loopback);
        assert_eq!(v4("10.1.2.3"), IpClass::Private);
        assert_eq!(v4("172.16.0.1"), IpClass::Private);
        assert_eq!(v4("172.31.255.255"), IpClass::Private);
        assert_eq!(v4("172.32.0.1"), IpClass::Public);
        assert_eq!(v4("192.168.1.1"), IpClass::Private);
        assert_eq!(v4("169.254.1.1"), IpClass::LinkLocal);
        assert_eq!(v4("169.254.169.254"), IpClass::Metadata);
        assert_eq!(v4("100.64.0.1"), IpClass::SharedCgnat);
        assert_eq!(v4("100.127.255.254"), IpClass::SharedCgnat);
        assert_eq!(v4("100.128.0.1"), IpClass::Public);
        assert_eq!(v4("0.0.0.0"), IpClass::Unspecified);
        assert_eq!(v4("224.0.0.1"), IpClass::Multicast);
        assert_eq!(v4("255.255.255.255"), IpClass::Multicast);
        assert_eq!(v4("192.0.2.1"), IpClass::Reserved);
        assert_eq!(v4("240.0.0.1"), IpClass::Reserved);
    }

    #[test]
    fn ipv6_classes_including_embedded_ipv4() {
        assert_eq!(v4("2606:4700::1111"), IpClass::Public);
        assert_eq!(v4("::1"), IpClass::Loopback);
        assert_eq!(v4("::"), IpClass::Unspecified);
        assert_eq!(v4("fe80::1"), IpClass::LinkLocal);
        assert_eq!(v4("fc00::1"), IpClass::UniqueLocal);
        assert_eq!(v4("fd12:3456::1"), IpClass::UniqueLocal);
        assert_eq!(v4("fd00:ec2::254"), IpClass::Metadata);
        assert_eq!(v4("fec0::1"), IpClass::Private);
        assert_eq!(v4("ff02::1"), IpClass::Multicast);
        assert_eq!(v4("2001:db8::1"), IpClass::Reserved);
        assert_eq!(v4("::ffff:169.254.169.254"), IpClass::Metadata);
        assert_eq!(v4("::ffff:127.0.0.1"), IpClass::Loopback);
        assert_eq!(v4("::ffff:10.0.0.1"), IpClass::Private);
        assert_eq!(v4("::ffff:8.8.8.8"), IpClass::Public);
        assert_eq!(v4("64:ff9b::a9fe:a9fe"), IpClass::Metadata);
        assert_eq!(v4("2002:c0a8:0101::1"), IpClass::Private);
    }

    #[test]
    fn strict_policy_allows_only_public_https() {
        let p = SsrfPolicy::strict();
        let ok = |u: &str| p.check_url(&Url::parse(u).unwrap()).is_ok();
        assert!(ok("https://auth.example.com/.well-known/x"));
        assert!(ok("https://8.8.8.8/"));
        assert!(!ok("http://auth.example.com/"));
        assert!(!ok("ftp://auth.example.com/"));
        assert!(!ok("https://127.0.0.1/"));
        assert!(!ok("https://localhost/"));
        assert!(!ok("https://[::1]/"));
        assert!(!ok("https://169.254.169.254/latest/meta-data"));
        assert!(!ok("https://[::ffff:169.254.169.254]/"));
        assert!(!ok("https://[::ffff:a9fe:a9fe]/"));
        assert!(!ok("https://10.0.0.5/"));
        assert!(!ok("https://[fd00::5]/"));
        assert!(!ok("https://[fe80::5]/"));
        assert!(!ok("https://100.64.1.1/"));
        assert!(!ok("https://user:pw@auth.example.com/"));
        // Decimal and hex IPv4 forms are normalised by the URL parser before the check.
        assert!(!ok("https://2852039166/"));
        assert!(!ok("https://0xa9fea9fe/"));
    }

    #[test]
    fn dev_policy_allows_loopback_http_but_not_private_or_metadata() {
        let p = SsrfPolicy::danger_allow_loopback_http();
        let ok = |u: &str| p.check_url(&Url::parse(u).unwrap()).is_ok();
        assert!(ok("http://localhost:3000/mcp"));
        assert!(ok("http://127.0.0.1:8080/"));
        assert!(ok("http://[::1]:8080/"));
        assert!(ok("http://example.com/"));
        assert!(!ok("http://169.254.169.254/"));
        assert!(!ok("http://[::ffff:169.254.169.254]/"));
        assert!(!ok("http://192.168.0.10/"));
        assert!(!ok("http://[fe80::1]/"));
        assert!(!ok("http://0.0.0.0/"));
        assert!(!ok("file:///etc/passwd"));
    }

    #[tokio::test]
    async fn resolver_refuses_names_with_forbidden_addresses() {
        use reqwest::dns::Resolve as _;
        let strict = GuardedResolver::shared(SsrfPolicy::strict());
        let err = strict
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("loopback"), "{err}");
        let dev = GuardedResolver::shared(SsrfPolicy::danger_allow_loopback_http());
        let addrs: Vec<_> = dev
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}

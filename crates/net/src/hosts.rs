//! Client addresses as per-host limits see them: one key per host, and sets of networks that
//! are exempt from such limits (front ends that bring many users from one address).
//!
//! A host is an IPv4 address, or an IPv6 /64: one subscriber usually holds a whole /64 and can
//! move between its addresses at will, so counting single IPv6 addresses would limit nothing.

use std::net::{IpAddr, Ipv6Addr};

/// The key a per-host limit counts `ip` under: IPv4 addresses as they are (also when they
/// arrive IPv4-mapped on an IPv6 socket), IPv6 addresses by their /64 prefix.
pub fn host_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// A set of networks (`192.0.2.0/24`, `2001:db8::/32`, or single addresses).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostSet(Vec<Network>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network {
    base: IpAddr,
    prefix: u8,
}

impl HostSet {
    /// Reads networks written as `ADDRESS` or `ADDRESS/PREFIX`.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<HostSet, String> {
        items
            .into_iter()
            .map(parse_network)
            .collect::<Result<_, _>>()
            .map(HostSet)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|n| n.contains(ip))
    }
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn parse_network(text: &str) -> Result<Network, String> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let base: IpAddr = address
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("{text:?} is not an IP address or network"))?;
    let max = if base.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{text:?}: the prefix length must be 0–{max}"))?,
    };
    Ok(Network { base, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_hosts_are_their_64_prefix_and_mapped_ipv4_is_ipv4() {
        assert_eq!(host_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(host_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(host_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            host_key(ip("2001:db8:1:2:ffff::9")),
            host_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            host_key(ip("2001:db8:1:3::1")),
            host_key(ip("2001:db8:1:2::1"))
        );
    }

    #[test]
    fn networks_match_by_prefix_and_bad_ones_are_refused() {
        let set = HostSet::parse(["127.0.0.0/8", "::1", "2001:db8::/32", "0.0.0.0/0"]).unwrap();
        assert!(set.contains(ip("127.1.2.3")));
        assert!(set.contains(ip("::ffff:127.0.0.1")));
        assert!(set.contains(ip("::1")));
        assert!(set.contains(ip("2001:db8:ffff::1")));
        assert!(!set.contains(ip("2001:db9::1")));
        assert!(
            set.contains(ip("198.51.100.1")),
            "0.0.0.0/0 is every IPv4 address"
        );
        let lo = HostSet::parse(["127.0.0.0/8"]).unwrap();
        assert!(!lo.contains(ip("128.0.0.1")));
        assert!(!HostSet::default().contains(ip("127.0.0.1")));
        assert!(HostSet::parse(["10.0.0.0/33"]).is_err());
        assert!(HostSet::parse(["example.org"]).is_err());
    }
}

//! The name of a server address, from the system's resolver: what `virtdomains: on` gives a
//! login typed without a domain (see `auth::server_domain`). Cyrus asks `getnameinfo` with
//! `NI_NAMEREQD` about the local end of the connection, so the answer follows the system's
//! own configuration (`/etc/hosts`, then DNS, as `nsswitch.conf` says); so do we.
//!
//! Rust's standard library resolves names to addresses only, never back, so this module calls
//! the C function itself: the second module of the binary with unsafe code (after
//! `memory.rs`). The call gets a fully initialised socket address and a buffer with its true
//! length, and the answer is read only up to its terminating NUL (see the SAFETY notes).

use std::ffi::CStr;
use std::net::IpAddr;

/// The longest host name `getnameinfo` writes, with its NUL (glibc's `NI_MAXHOST`).
const MAX_HOST: usize = 1025;

/// Asks the system's resolver for server addresses' names.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl auth::server_domain::ReverseLookup for SystemResolver {
    fn host_name(&self, addr: IpAddr) -> Option<String> {
        name_of(addr)
    }
}

/// The name `addr` resolves to (`getnameinfo` with `NI_NAMEREQD`: a name or nothing, never
/// the address written out), or `None` when it has none or the lookup failed.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn name_of(addr: IpAddr) -> Option<String> {
    let mut host = [0u8; MAX_HOST];
    let answer = match addr {
        IpAddr::V4(v4) => {
            // SAFETY: sockaddr_in is plain old data; all zeroes is a valid value of it.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from_ne_bytes(v4.octets());
            lookup(&sa, &mut host)
        }
        IpAddr::V6(v6) => {
            // SAFETY: sockaddr_in6 is plain old data; all zeroes is a valid value of it.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_addr.s6_addr = v6.octets();
            lookup(&sa, &mut host)
        }
    };
    if answer != 0 {
        return None;
    }
    let name = CStr::from_bytes_until_nul(&host).ok()?.to_str().ok()?;
    (!name.is_empty()).then(|| name.to_string())
}

/// `getnameinfo` on the socket address `sa` (a `sockaddr_in` or `sockaddr_in6`), the name into
/// `host`: its return code (0 on success).
#[cfg(unix)]
#[allow(unsafe_code)]
fn lookup<T>(sa: &T, host: &mut [u8; MAX_HOST]) -> libc::c_int {
    let Ok(sa_len) = libc::socklen_t::try_from(std::mem::size_of::<T>()) else {
        return libc::EAI_FAIL;
    };
    let Ok(host_len) = libc::socklen_t::try_from(host.len()) else {
        return libc::EAI_FAIL;
    };
    // SAFETY: `sa` points to an initialised socket address of `sa_len` bytes whose family
    // field says which; `host` is writable for `host_len` bytes, and getnameinfo writes a
    // NUL-terminated name within them; no service is asked for (null buffer, length 0). The
    // function is thread-safe (POSIX) and keeps no pointer after it returns.
    unsafe {
        libc::getnameinfo(
            (sa as *const T).cast::<libc::sockaddr>(),
            sa_len,
            host.as_mut_ptr().cast::<libc::c_char>(),
            host_len,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    }
}

/// Elsewhere no name is known: logins stay in the default domain.
#[cfg(not(unix))]
pub fn name_of(_addr: IpAddr) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// The names `/etc/hosts` gives 127.0.0.1, when the system reads that file first.
    fn hosts_file_names() -> Option<Vec<String>> {
        let nsswitch = std::fs::read_to_string("/etc/nsswitch.conf").ok()?;
        let hosts_line = nsswitch
            .lines()
            .find_map(|l| l.trim().strip_prefix("hosts:"))?;
        if hosts_line.split_whitespace().next() != Some("files") {
            return None;
        }
        let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
        let names: Vec<String> = hosts
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .filter_map(|l| {
                let mut fields = l.split_whitespace();
                (fields.next() == Some("127.0.0.1")).then(|| fields.map(str::to_string))
            })
            .flatten()
            .collect();
        (!names.is_empty()).then_some(names)
    }

    /// The loopback address through the real resolver: whatever name the system gives it, the
    /// lookup returns that name, and the server domain of a connection to it is the domain
    /// that name gives (none for a name without a dot, such as `localhost`).
    #[test]
    fn the_loopback_address_is_named_as_the_system_says() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let name = name_of(loopback);
        if let Some(listed) = hosts_file_names() {
            let name = name.as_deref().expect("/etc/hosts names 127.0.0.1");
            assert!(
                listed.iter().any(|l| l.eq_ignore_ascii_case(name)),
                "{name:?} is not among /etc/hosts's names for 127.0.0.1: {listed:?}"
            );
        }
        if let Some(name) = &name {
            assert!(!name.is_empty() && !name.contains('\0'), "{name:?}");
            assert!(
                name.parse::<IpAddr>().is_err(),
                "NI_NAMEREQD gives names only"
            );
        }
        let domains = types::Domains {
            mode: types::DomainMode::On,
            default_domain: Some("example.org".into()),
            local_names: Vec::new(),
        };
        let rules = auth::identity::LoginIdentity::new(
            None,
            None,
            Vec::new(),
            auth::authz::Mechanism::Unix,
            domains.clone(),
        )
        .with_reverse_lookup(Arc::new(SystemResolver));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let found = runtime.block_on(rules.server_domain(loopback));
        let expected = name
            .as_deref()
            .and_then(|n| domains.domain_of_server_name(n));
        assert_eq!(found.domain(), expected.as_deref(), "name {name:?}");
    }
}

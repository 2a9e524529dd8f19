//! UNIX stream sockets: binding one at a path with the permissions and group that decide who
//! may connect, and never, even for a moment, with wider ones.
//!
//! Connecting to a UNIX socket needs write permission on the socket file (and search permission
//! on every directory above it). A socket bound in place gets the process's umask-derived mode
//! until it is changed, and it accepts connections from the moment it is bound. So the socket
//! is bound inside a fresh directory only the server can enter, given its mode and group there,
//! and then renamed into place: by the time anyone else can reach it, it has its final
//! permissions.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::UnixListener;

static BIND_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Who may connect to a socket: its permission bits and, optionally, the group it is given
/// (otherwise it keeps the server's own group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketAccess {
    pub mode: u32,
    pub group: Option<u32>,
}

impl SocketAccess {
    /// Only the server's own user (and root) may connect.
    pub fn owner_only() -> SocketAccess {
        SocketAccess {
            mode: 0o600,
            group: None,
        }
    }
}

/// Binds a UNIX stream socket at `path` with `access`, replacing a stale socket file left by a
/// server that did not exit cleanly (the caller holds the data directory's lock, so no live
/// server owns it). A file that is not a socket is never removed.
pub fn bind_unix(path: &Path, access: SocketAccess) -> io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent)?;
    let private = parent.join(format!(
        ".bind-{}-{}",
        std::process::id(),
        BIND_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::symlink_metadata(&private).is_ok() {
        // Left by an earlier process with our pid (a crash, then pid reuse).
        std::fs::remove_dir_all(&private)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let result = bind_in(&private, path, access);
    let _ = std::fs::remove_dir_all(&private);
    result
}

/// Binds in the private directory `private`, sets the access, then renames onto `path`.
fn bind_in(private: &Path, path: &Path, access: SocketAccess) -> io::Result<UnixListener> {
    let staged: PathBuf = private.join("socket");
    let listener = UnixListener::bind(&staged)?;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(access.mode))?;
    if let Some(gid) = access.group {
        std::os::unix::fs::chown(&staged, None, Some(gid)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("giving the socket to group {gid}: {e} (the server must be root or a member of the group)"),
            )
        })?;
    }
    std::fs::rename(&staged, path)?;
    Ok(listener)
}

/// The id of the group `name`: a number is taken as it is; a name is looked up in `/etc/group`
/// (groups known only to NSS services such as LDAP must be given by number).
pub fn group_id(name: &str) -> io::Result<u32> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    let groups = std::fs::read_to_string("/etc/group")?;
    group_in(&groups, name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no group named {name:?} in /etc/group"),
        )
    })
}

/// `name:password:gid:members` lines, as group(5) describes them.
fn group_in(groups: &str, name: &str) -> Option<u32> {
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name)
            .then(|| fields.nth(1)?.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn bind_unix_replaces_a_stale_socket_but_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let path = dir.path().join("s");
            drop(bind_unix(&path, SocketAccess::owner_only()).unwrap());
            let again = bind_unix(&path, SocketAccess::owner_only());
            assert!(again.is_ok(), "a stale socket is replaced");
            let file = dir.path().join("f");
            std::fs::write(&file, b"x").unwrap();
            assert!(
                bind_unix(&file, SocketAccess::owner_only()).is_err(),
                "a regular file is never removed"
            );
        });
    }

    #[test]
    fn the_socket_gets_its_mode_and_group_and_accepts_connections_where_it_was_asked() {
        let dir = tempfile::tempdir().unwrap();
        let own_gid = std::fs::metadata(dir.path()).unwrap().gid();
        runtime().block_on(async {
            let path = dir.path().join("sub/lmtp");
            let access = SocketAccess {
                mode: 0o660,
                group: Some(own_gid),
            };
            let listener = bind_unix(&path, access).unwrap();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            assert!(meta.file_type().is_socket());
            assert_eq!(meta.mode() & 0o7777, 0o660);
            assert_eq!(meta.gid(), own_gid);
            let client = tokio::net::UnixStream::connect(&path);
            let (accepted, connected) = tokio::join!(listener.accept(), client);
            assert!(accepted.is_ok() && connected.is_ok());
            let left: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(left, ["lmtp"], "the private bind directory is gone");
        });
    }

    #[test]
    fn groups_are_read_from_group_file_lines_or_numbers() {
        let file = "root:x:0:\nmail:x:8:\npostfix:x:115:\nbroken\n";
        assert_eq!(group_in(file, "postfix"), Some(115));
        assert_eq!(group_in(file, "mail"), Some(8));
        assert_eq!(group_in(file, "post"), None);
        assert_eq!(group_in(file, "broken"), None);
        assert_eq!(group_id("4242").unwrap(), 4242);
    }
}

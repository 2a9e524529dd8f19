//! Authorization (Cyrus's `auth_mech`): canonical identifiers, group membership and, for
//! Kerberos, principal wildcards, behind [`types::Authorizer`], which the mail service decides
//! with. Two mechanisms, as in Cyrus: [`Unix`] (groups from `/etc/group` and a groups file) and
//! [`Krb5`] (identifiers are Kerberos principals).
//!
//! Must not: know about mailboxes or ACL evaluation (that is `mailservice`'s); the trait is in
//! `types` because `mailservice` and `auth` share a layer and may not depend on each other.

mod krb5;
mod unix;
mod watched;

use std::path::PathBuf;
use std::sync::Arc;

pub use krb5::Krb5;
pub use types::Authorizer;
pub use unix::Unix;

/// `auth_mech`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Unix,
    Krb5,
}

impl TryFrom<&str> for Mechanism {
    type Error = String;

    fn try_from(name: &str) -> Result<Mechanism, String> {
        match name {
            "unix" => Ok(Mechanism::Unix),
            "krb5" => Ok(Mechanism::Krb5),
            other => Err(format!("unknown auth_mech {other:?} (unix or krb5)")),
        }
    }
}

/// What the configuration says about authorization.
#[derive(Clone, Debug)]
pub struct AuthzConfig {
    pub mechanism: Mechanism,
    /// `auth_groups_file` (`unix`); `None` reads only `/etc/group`.
    pub groups_file: Option<PathBuf>,
    /// `krb5_realm`: the local realm (`krb5`); `None` for none.
    pub krb5_realm: Option<String>,
    /// `krb5_equiv_file`: the `krb.equiv` identity map (`krb5`); `None` for none.
    pub krb5_equiv_file: Option<PathBuf>,
}

/// The system's group file, read by the `unix` mechanism.
pub const ETC_GROUP: &str = "/etc/group";

/// The authorizer the configuration names.
pub fn authorizer(config: &AuthzConfig) -> Arc<dyn Authorizer> {
    match config.mechanism {
        Mechanism::Unix => Arc::new(Unix::new(
            Some(PathBuf::from(ETC_GROUP)),
            config.groups_file.clone(),
        )),
        Mechanism::Krb5 => Arc::new(Krb5::new(
            config.krb5_realm.clone(),
            config.krb5_equiv_file.clone(),
        )),
    }
}

/// `anyone` (Cyrus also reads `anybody`) and `anonymous`, in any case, for every mechanism.
fn builtin(identifier: &str) -> Option<&'static str> {
    if identifier.eq_ignore_ascii_case("anyone") || identifier.eq_ignore_ascii_case("anybody") {
        Some("anyone")
    } else if identifier.eq_ignore_ascii_case("anonymous") {
        Some("anonymous")
    } else {
        None
    }
}

/// Characters no identifier may hold: white space and controls (the stored ACL separates with
/// tabs), and the LIST wildcard `%` and quoting characters no client can send reliably.
fn bad_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || "%\"\\".contains(c)
}

//! The session state (RFC 9051 §3), as an enum carrying its data: "selected without a mailbox"
//! cannot be written down.

use mailservice::Identity;

use crate::proxy::ProxiedMailbox;
use crate::view::SelectedView;

pub(crate) enum State {
    NotAuthenticated,
    Authenticated(Identity),
    Selected(Identity, Box<SelectedView>),
    /// Selected, on a frontend, in a mailbox another server holds: the backend keeps the
    /// view (sequence numbers, updates) and the session passes the commands on (`proxy`).
    Proxied(Identity, Box<ProxiedMailbox>),
    Logout,
}

impl State {
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            State::Authenticated(id) | State::Selected(id, _) | State::Proxied(id, _) => Some(id),
            State::NotAuthenticated | State::Logout => None,
        }
    }

    pub fn view(&self) -> Option<&SelectedView> {
        match self {
            State::Selected(_, view) => Some(view),
            _ => None,
        }
    }

    pub fn view_mut(&mut self) -> Option<&mut SelectedView> {
        match self {
            State::Selected(_, view) => Some(view),
            _ => None,
        }
    }

    /// The mailbox selected on a backend, in the proxied selected state.
    pub fn proxied(&self) -> Option<&ProxiedMailbox> {
        match self {
            State::Proxied(_, mailbox) => Some(mailbox),
            _ => None,
        }
    }

    /// Leaves the selected state (CLOSE, UNSELECT, a new SELECT), keeping the identity. For a
    /// proxied mailbox the caller has already left it at the backend (or lost the backend).
    pub fn deselect(&mut self) {
        if matches!(self, State::Selected(..) | State::Proxied(..)) {
            if let State::Selected(id, _) | State::Proxied(id, _) =
                std::mem::replace(self, State::Logout)
            {
                *self = State::Authenticated(id);
            }
        }
    }
}

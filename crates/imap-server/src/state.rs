//! The session state (RFC 9051 §3), as an enum carrying its data: "selected without a mailbox"
//! cannot be written down.

use mailservice::Identity;

use crate::view::SelectedView;

pub(crate) enum State {
    NotAuthenticated,
    Authenticated(Identity),
    Selected(Identity, Box<SelectedView>),
    Logout,
}

impl State {
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            State::Authenticated(id) | State::Selected(id, _) => Some(id),
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

    /// Leaves the selected state (CLOSE, UNSELECT, a new SELECT), keeping the identity.
    pub fn deselect(&mut self) {
        if matches!(self, State::Selected(..)) {
            if let State::Selected(id, _) = std::mem::replace(self, State::Logout) {
                *self = State::Authenticated(id);
            }
        }
    }
}

//! A list an operator may change while the server runs (SIGHUP reads `admins` again): every
//! holder of a clone sees the new list from then on; a reader takes the list as it is now.

use std::sync::{Arc, RwLock};

/// See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct LiveList(Arc<RwLock<Arc<Vec<String>>>>);

impl LiveList {
    pub fn new(items: Vec<String>) -> LiveList {
        LiveList(Arc::new(RwLock::new(Arc::new(items))))
    }

    /// The list now.
    pub fn get(&self) -> Arc<Vec<String>> {
        match self.0.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the list for every holder.
    pub fn set(&self, items: Vec<String>) {
        let items = Arc::new(items);
        match self.0.write() {
            Ok(mut guard) => *guard = items,
            Err(poisoned) => *poisoned.into_inner() = items,
        }
    }
}

impl From<Vec<String>> for LiveList {
    fn from(items: Vec<String>) -> LiveList {
        LiveList::new(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_sees_a_change() {
        let a = LiveList::new(vec!["admin".into()]);
        let b = a.clone();
        let before = a.get();
        b.set(vec!["admin".into(), "bob".into()]);
        assert_eq!(a.get().as_slice(), ["admin", "bob"]);
        // A reader keeps what it took.
        assert_eq!(before.as_slice(), ["admin"]);
    }
}

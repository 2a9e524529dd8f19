//! A bounded cache of open owner indexes.
//!
//! redb allows one open handle per file per process, so a handle evicted from the LRU list while
//! some operation still uses it must be found again rather than opened twice: the cache keeps a
//! `Weak` to every handle alive anywhere, and the LRU list holds strong references to at most
//! `limit` of them. Locking: one `std::sync::Mutex` around both, held for the lookup and, on a
//! miss, for the open (so two threads never open the same file).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use sha2::{Digest, Sha256};
use types::MailboxName;

use crate::durable::Durable;
use crate::error::{Result, StoreError};
use crate::index::OwnerDb;
use crate::partition::hex;

pub(crate) struct OwnerCache {
    index_dir: PathBuf,
    limit: usize,
    cache_bytes: usize,
    durable: Durable,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    alive: HashMap<String, Weak<OwnerDb>>,
    lru: VecDeque<(String, Arc<OwnerDb>)>,
}

impl OwnerCache {
    pub(crate) fn new(
        index_dir: PathBuf,
        limit: usize,
        cache_bytes: usize,
        durable: Durable,
    ) -> Self {
        OwnerCache {
            index_dir,
            limit: limit.max(1),
            cache_bytes,
            durable,
            state: Mutex::new(CacheState::default()),
        }
    }

    /// `CONFIG/index/HH/HASH.redb`, HASH being 128 bits of SHA-256 of the owner's name: file
    /// names stay short and portable whatever the name, and HH fans out the directory.
    pub(crate) fn path_for(&self, owner: &MailboxName) -> PathBuf {
        let h = hex(&Sha256::digest(owner.as_str().as_bytes())[..16]);
        self.index_dir.join(&h[..2]).join(format!("{h}.redb"))
    }

    /// Opens the file. The last user of an evicted handle may be dropping it (and redb releasing
    /// its file lock) on another thread right now, after our `Weak` stopped upgrading: redb then
    /// answers "already open" for a moment, so retry briefly before giving up.
    fn open(&self, owner: &MailboxName) -> Result<OwnerDb> {
        let path = self.path_for(owner);
        let mut attempt = 0;
        loop {
            match OwnerDb::open(&path, owner.as_str(), self.cache_bytes, &self.durable) {
                Err(StoreError::Db(e))
                    if matches!(*e, redb::Error::DatabaseAlreadyOpen) && attempt < 200 =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                other => return other,
            }
        }
    }

    /// Renames `owner`'s index file to `NAME.damaged-SECONDS` when opening it fails because it
    /// is damaged ([`StoreError::is_damaged_database`]), so that the next [`OwnerCache::get`]
    /// starts an empty one; returns the new name. `None`: it opens, or is missing. Any other
    /// failure to open is returned as it is.
    pub(crate) fn set_aside_if_damaged(&self, owner: &MailboxName) -> Result<Option<PathBuf>> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st
            .alive
            .get(owner.as_str())
            .and_then(Weak::upgrade)
            .is_some()
        {
            return Ok(None);
        }
        let path = self.path_for(owner);
        if !path.exists() {
            return Ok(None);
        }
        match self.open(owner) {
            Ok(_) => Ok(None),
            Err(e) if e.is_damaged_database() => {
                let mut aside = path.clone().into_os_string();
                aside.push(format!(".damaged-{}", crate::model::unix_now()));
                let aside = PathBuf::from(aside);
                std::fs::rename(&path, &aside).map_err(|e| StoreError::io(&path, e))?;
                self.durable.sync_dir(&crate::durable::parent_of(&path))?;
                drop(st);
                Ok(Some(aside))
            }
            Err(e) => Err(e),
        }
    }

    /// The open index of `owner` (a hierarchy root), opening or creating it if needed.
    pub(crate) fn get(&self, owner: &MailboxName) -> Result<Arc<OwnerDb>> {
        // The state is only ever left consistent (no panics between its updates), so a
        // poisoned lock can be used as is.
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let key = owner.as_str();
        if let Some(pos) = st.lru.iter().position(|(k, _)| k == key) {
            if let Some(entry) = st.lru.remove(pos) {
                let db = entry.1.clone();
                st.lru.push_back(entry);
                return Ok(db);
            }
        }
        let db = match st.alive.get(key).and_then(Weak::upgrade) {
            Some(db) => db,
            None => {
                let db = Arc::new(self.open(owner)?);
                st.alive.insert(key.to_string(), Arc::downgrade(&db));
                db
            }
        };
        st.lru.push_back((key.to_string(), db.clone()));
        while st.lru.len() > self.limit {
            st.lru.pop_front();
        }
        if st.alive.len() > 4 * self.limit {
            st.alive.retain(|_, w| w.strong_count() > 0);
        }
        Ok(db)
    }
}

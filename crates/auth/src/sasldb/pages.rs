//! Bounded access to a file of fixed-size pages, shared by the Berkeley DB and LMDB readers:
//! every read is checked against the page, and each page may be visited once, so that a
//! corrupt file's links (a chain pointing back at itself, two parents sharing a child) end in
//! an error instead of a loop or a blow-up.

use super::SasldbError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

/// Reads fixed-width integers from `bytes` at `at`; `None` past the end.
pub fn u16_at(bytes: &[u8], at: usize, order: ByteOrder) -> Option<u16> {
    let raw: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(match order {
        ByteOrder::Little => u16::from_le_bytes(raw),
        ByteOrder::Big => u16::from_be_bytes(raw),
    })
}

pub fn u32_at(bytes: &[u8], at: usize, order: ByteOrder) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(match order {
        ByteOrder::Little => u32::from_le_bytes(raw),
        ByteOrder::Big => u32::from_be_bytes(raw),
    })
}

pub fn u64_at(bytes: &[u8], at: usize, order: ByteOrder) -> Option<u64> {
    let raw: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(match order {
        ByteOrder::Little => u64::from_le_bytes(raw),
        ByteOrder::Big => u64::from_be_bytes(raw),
    })
}

pub fn corrupt(what: impl Into<String>) -> SasldbError {
    SasldbError::Corrupt(what.into())
}

/// The file cut into pages of `size` bytes, with a record of the pages already visited.
pub struct Pages<'a> {
    bytes: &'a [u8],
    size: usize,
    visited: Vec<bool>,
}

impl<'a> Pages<'a> {
    /// `size` must be at least 512 and a power of two: both formats allow nothing else.
    pub fn new(bytes: &'a [u8], size: usize) -> Result<Pages<'a>, SasldbError> {
        if !(512..=65536).contains(&size) || !size.is_power_of_two() {
            return Err(corrupt(format!("page size {size}")));
        }
        let count = bytes.len() / size;
        Ok(Pages {
            bytes,
            size,
            visited: vec![false; count],
        })
    }

    /// Number of whole pages in the file.
    pub fn count(&self) -> u64 {
        self.visited.len() as u64
    }

    /// Page `pgno`, which must exist and not have been visited before.
    pub fn visit(&mut self, pgno: u64) -> Result<&'a [u8], SasldbError> {
        let index = usize::try_from(pgno)
            .ok()
            .filter(|i| *i < self.visited.len())
            .ok_or_else(|| corrupt(format!("page {pgno} is past the end of the file")))?;
        if std::mem::replace(&mut self.visited[index], true) {
            return Err(corrupt(format!("page {pgno} is linked twice")));
        }
        let start = index * self.size;
        Ok(&self.bytes[start..start + self.size])
    }

    /// The run of `count` consecutive pages starting at `first` (an LMDB overflow run), whose
    /// first page the caller has visited already; the others are visited now.
    pub fn visit_rest_of_run(&mut self, first: u64, count: u64) -> Result<&'a [u8], SasldbError> {
        if count == 0 {
            return Err(corrupt(format!("empty overflow run at page {first}")));
        }
        // Stops at the first page past the end, so `count` cannot make this loop long.
        for next in 1..count {
            let page = first
                .checked_add(next)
                .ok_or_else(|| corrupt("overflow run past the end"))?;
            self.visit(page)?;
        }
        let run = usize::try_from(first)
            .ok()
            .zip(usize::try_from(count).ok())
            .and_then(|(first, count)| {
                let start = first.checked_mul(self.size)?;
                self.bytes
                    .get(start..start.checked_add(count.checked_mul(self.size)?)?)
            });
        run.ok_or_else(|| corrupt("overflow run past the end"))
    }
}

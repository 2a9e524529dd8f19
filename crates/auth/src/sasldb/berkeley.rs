//! The Berkeley DB hash access method's on-disk format (DB 4.2 to 6.x: hash versions 8 to 10),
//! as far as reading every key/data pair needs.
//!
//! Layout, in the creating machine's byte order (told apart by the magic number):
//! - page 0 is the hash metadata page: magic `0x061561` at 12, version at 16, page size at 20,
//!   encryption algorithm at 24, page type at 25, meta flags at 26 (bit 0: pages carry
//!   checksums), the last page number at 32, access-method flags at 48 (bit 1: the file holds
//!   several databases), the highest bucket number at 72, and the 32 "spares" at 96: bucket
//!   `b` lives on page `b + spares[ceil(log2(b + 1))]`;
//! - every page starts with a 26-byte header: page number at 8, next page at 16, entry count at
//!   20, high free offset at 22, type at 25 (13 sorted hash, 2 unsorted hash, 7 overflow). With
//!   checksums 6 more bytes follow (2 unused, a 4-byte checksum). Then an array of 2-byte item
//!   offsets; items sit at the page's end, item `i` ending where item `i - 1` starts (item 0 at
//!   the page's end). A bucket's pages chain through "next" until 0;
//! - items alternate key, data. Each starts with a type byte: 1 is the bytes in place; 3 is an
//!   off-page item (page number at +4, total length at +8) whose bytes run along a chain of
//!   overflow pages, each holding "high free offset" bytes after its header. Duplicates (2, 4)
//!   and blobs (5) are never written by Cyrus SASL and are refused;
//! - an all-zero page is a bucket page allocated but never written: an empty bucket.

use super::pages::{corrupt, u16_at, u32_at, ByteOrder, Pages};
use super::{Pair, SasldbError, MAX_ITEM_BYTES};

const HASH_MAGIC: u32 = 0x0006_1561;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_DUPLICATE: u8 = 2;
const H_OFFPAGE: u8 = 3;
const H_OFFDUP: u8 = 4;
const H_BLOB: u8 = 5;
const PAGE_HEADER: usize = 26;
/// Two alignment bytes and a 4-byte checksum after the header when the meta flags say so.
const CHECKSUM_AREA: usize = 6;
const METAFLAG_CHECKSUM: u8 = 0x01;
const HASH_FLAG_SUBDB: u32 = 0x02;
const SPARES_AT: usize = 96;
const SPARES: usize = 32;

/// The byte order of a Berkeley DB hash file, or `None` when `bytes` is not one.
pub fn byte_order(bytes: &[u8]) -> Option<ByteOrder> {
    [ByteOrder::Little, ByteOrder::Big]
        .into_iter()
        .find(|order| u32_at(bytes, 12, *order) == Some(HASH_MAGIC))
}

struct Meta {
    header: usize,
    last_pgno: u32,
    max_bucket: u32,
    spares: [u32; SPARES],
}

fn meta(bytes: &[u8], order: ByteOrder) -> Result<(Meta, usize), SasldbError> {
    let field = |at| u32_at(bytes, at, order).ok_or_else(|| corrupt("short metadata page"));
    let version = field(16)?;
    if !(8..=10).contains(&version) {
        return Err(SasldbError::Unsupported(format!(
            "hash version {version} (this reader knows versions 8 to 10: Berkeley DB 4.2 to 6.x)"
        )));
    }
    let page_size = field(20)? as usize;
    let head = bytes.get(..PAGE_HEADER + 2).unwrap_or_default();
    if head.len() < PAGE_HEADER + 2 {
        return Err(corrupt("short metadata page"));
    }
    if head[24] != 0 {
        return Err(SasldbError::Unsupported("an encrypted database".into()));
    }
    if head[25] != P_HASHMETA {
        return Err(corrupt(format!(
            "page 0 has type {}, not hash metadata",
            head[25]
        )));
    }
    if field(48)? & HASH_FLAG_SUBDB != 0 {
        return Err(SasldbError::Unsupported(
            "a file of several databases (Cyrus SASL writes one)".into(),
        ));
    }
    let header = if head[26] & METAFLAG_CHECKSUM != 0 {
        PAGE_HEADER + CHECKSUM_AREA
    } else {
        PAGE_HEADER
    };
    let mut spares = [0; SPARES];
    for (i, spare) in spares.iter_mut().enumerate() {
        *spare = field(SPARES_AT + 4 * i)?;
    }
    let meta = Meta {
        header,
        last_pgno: field(32)?,
        max_bucket: field(72)?,
        spares,
    };
    Ok((meta, page_size))
}

/// Every key/data pair of the file, in bucket order.
pub fn pairs(bytes: &[u8], order: ByteOrder) -> Result<Vec<Pair>, SasldbError> {
    let (meta, page_size) = meta(bytes, order)?;
    let mut pages = Pages::new(bytes, page_size)?;
    pages.visit(0)?;
    if u64::from(meta.last_pgno) >= pages.count() {
        return Err(corrupt(format!(
            "truncated: the last page is {}, the file holds {}",
            meta.last_pgno,
            pages.count()
        )));
    }
    if u64::from(meta.max_bucket) >= pages.count() {
        return Err(corrupt(format!(
            "{} buckets in a file of {} pages",
            u64::from(meta.max_bucket) + 1,
            pages.count()
        )));
    }
    let reader = Reader { order, meta };
    let mut out = Vec::new();
    for bucket in 0..=reader.meta.max_bucket {
        let spare = reader.meta.spares.get(ceil_log2(bucket + 1)).copied();
        let spare = spare.ok_or_else(|| corrupt(format!("bucket {bucket}")))?;
        let first = u64::from(bucket) + u64::from(spare);
        reader.bucket(&mut pages, first, &mut out)?;
    }
    Ok(out)
}

/// Smallest `i` with `2^i >= n` (Berkeley DB's `__db_log2`); `n` is at least 1.
fn ceil_log2(n: u32) -> usize {
    (u32::BITS - (n - 1).leading_zeros()) as usize
}

struct Reader {
    order: ByteOrder,
    meta: Meta,
}

impl Reader {
    /// The pairs on a bucket's chain of pages.
    fn bucket(
        &self,
        pages: &mut Pages<'_>,
        first: u64,
        out: &mut Vec<Pair>,
    ) -> Result<(), SasldbError> {
        let mut pgno = first;
        loop {
            let page = pages.visit(pgno)?;
            if page.iter().all(|b| *b == 0) {
                return Ok(());
            }
            let kind = page[25];
            if kind != P_HASH && kind != P_HASH_UNSORTED {
                return Err(corrupt(format!("page {pgno} has type {kind}, not hash")));
            }
            self.check_pgno(page, pgno)?;
            self.items(pages, page, pgno, out)?;
            match self.u32(page, 16)? {
                0 => return Ok(()),
                next => pgno = u64::from(next),
            }
        }
    }

    fn items(
        &self,
        pages: &mut Pages<'_>,
        page: &[u8],
        pgno: u64,
        out: &mut Vec<Pair>,
    ) -> Result<(), SasldbError> {
        let entries = usize::from(self.u16(page, 20)?);
        if entries % 2 != 0 {
            return Err(corrupt(format!("page {pgno} has an unpaired key")));
        }
        let index_end = self.meta.header + 2 * entries;
        if index_end > page.len() {
            return Err(corrupt(format!(
                "page {pgno}: {entries} entries do not fit"
            )));
        }
        let mut end = page.len();
        let mut key = None;
        for i in 0..entries {
            let start = usize::from(self.u16(page, self.meta.header + 2 * i)?);
            if start < index_end || start >= end {
                return Err(corrupt(format!("page {pgno}: item {i} at offset {start}")));
            }
            let item = self.item(pages, &page[start..end], pgno)?;
            end = start;
            match key.take() {
                None => key = Some(item),
                Some(key) => out.push((key, item)),
            }
        }
        Ok(())
    }

    /// One item's bytes, in place or gathered from its overflow pages.
    fn item(&self, pages: &mut Pages<'_>, item: &[u8], pgno: u64) -> Result<Vec<u8>, SasldbError> {
        match item[0] {
            H_KEYDATA => {
                let data = &item[1..];
                if data.len() > MAX_ITEM_BYTES {
                    return Err(SasldbError::ItemTooLarge);
                }
                Ok(data.to_vec())
            }
            H_OFFPAGE => {
                let first = self.u32(item, 4)?;
                let total = self.u32(item, 8)? as usize;
                self.overflow(pages, u64::from(first), total)
            }
            H_DUPLICATE | H_OFFDUP => Err(SasldbError::Unsupported(format!(
                "duplicate data items on page {pgno} (Cyrus SASL writes none)"
            ))),
            H_BLOB => Err(SasldbError::Unsupported(format!(
                "an external blob item on page {pgno}"
            ))),
            other => Err(corrupt(format!("page {pgno}: item type {other}"))),
        }
    }

    /// An off-page item of `total` bytes along its chain of overflow pages.
    fn overflow(
        &self,
        pages: &mut Pages<'_>,
        first: u64,
        total: usize,
    ) -> Result<Vec<u8>, SasldbError> {
        if total > MAX_ITEM_BYTES {
            return Err(SasldbError::ItemTooLarge);
        }
        let mut data = Vec::with_capacity(total);
        let mut pgno = first;
        loop {
            let page = pages.visit(pgno)?;
            if page[25] != P_OVERFLOW {
                return Err(corrupt(format!("page {pgno} is not an overflow page")));
            }
            self.check_pgno(page, pgno)?;
            let len = usize::from(self.u16(page, 22)?);
            let bytes = page
                .get(self.meta.header..self.meta.header + len)
                .ok_or_else(|| corrupt(format!("overflow page {pgno} holds {len} bytes")))?;
            if data.len() + bytes.len() > total {
                return Err(corrupt(format!(
                    "overflow chain longer than its {total} bytes"
                )));
            }
            data.extend_from_slice(bytes);
            match self.u32(page, 16)? {
                0 => break,
                next => pgno = u64::from(next),
            }
        }
        if data.len() != total {
            return Err(corrupt(format!(
                "overflow item of {} bytes, {total} announced",
                data.len()
            )));
        }
        Ok(data)
    }

    fn check_pgno(&self, page: &[u8], pgno: u64) -> Result<(), SasldbError> {
        match u64::from(self.u32(page, 8)?) {
            n if n == pgno => Ok(()),
            n => Err(corrupt(format!("page {pgno} says it is page {n}"))),
        }
    }

    fn u16(&self, bytes: &[u8], at: usize) -> Result<u16, SasldbError> {
        u16_at(bytes, at, self.order).ok_or_else(|| corrupt("item past the end of its page"))
    }

    fn u32(&self, bytes: &[u8], at: usize) -> Result<u32, SasldbError> {
        u32_at(bytes, at, self.order).ok_or_else(|| corrupt("item past the end of its page"))
    }
}

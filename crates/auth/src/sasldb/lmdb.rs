//! LMDB's data file (format version 1, LMDB 0.9), as a 64-bit little-endian machine writes it,
//! as far as reading every key/data pair of the main (unnamed) database needs: Cyrus SASL's
//! `db_lmdb.c` opens the file with `MDB_NOSUBDIR` and stores its keys in the main database.
//!
//! Layout (all little-endian; page numbers and sizes are 8 bytes):
//! - every page starts with a 16-byte header: page number at 0, flags at 10 (1 branch, 2 leaf,
//!   4 overflow, 8 meta, 0x20 fixed-size leaf), then either the lower and upper bounds of the
//!   free space (2 bytes each, at 12 and 14) or, on an overflow page, the number of pages in
//!   its run (4 bytes at 12);
//! - pages 0 and 1 are meta pages; the one with the higher transaction id (at 16 + 128) is
//!   current. After the header: magic `0xBEEFC0DE`, version 1, map address and size, then two
//!   48-byte database records (free pages, main): flags at +4 and root page at +40 each; the
//!   free-pages record's first 4 bytes hold the page size;
//! - a branch or leaf page's node offsets (2 bytes each) follow its header, up to "lower". A
//!   node is: 2 + 2 bytes low/high halves of a number, 2 bytes flags, 2 bytes key size, the key,
//!   and on a leaf the data. On a branch the number (with the flags as its top 16 bits) is the
//!   child page; on a leaf it is the data size, and with flag 1 ("big data") the data is on an
//!   overflow run whose first page number is the node's 8 data bytes. Flags 2 (a named
//!   sub-database) and 4 (duplicates) are never written by Cyrus SASL and are refused.

use super::pages::{corrupt, u16_at, u32_at, u64_at, ByteOrder, Pages};
use super::{Pair, SasldbError, MAX_ITEM_BYTES};

const LE: ByteOrder = ByteOrder::Little;
const MAGIC: u32 = 0xBEEF_C0DE;
const VERSION: u32 = 1;
const PAGE_HEADER: usize = 16;
const P_BRANCH: u16 = 0x01;
const P_LEAF: u16 = 0x02;
const P_OVERFLOW: u16 = 0x04;
const P_META: u16 = 0x08;
const P_LEAF2: u16 = 0x20;
const F_BIGDATA: u16 = 0x01;
const F_SUBDATA: u16 = 0x02;
const F_DUPDATA: u16 = 0x04;
/// `P_INVALID`: the root of an empty database.
const NO_PAGE: u64 = u64::MAX;
const NODE_HEADER: usize = 8;
/// Offsets inside a meta page.
const META_MAGIC: usize = PAGE_HEADER;
const META_FREE_DB: usize = PAGE_HEADER + 24;
const META_MAIN_DB: usize = META_FREE_DB + 48;
const META_LAST_PAGE: usize = META_MAIN_DB + 48;
const META_TXNID: usize = META_LAST_PAGE + 8;
const DB_ROOT: usize = 40;

/// Whether `bytes` starts with an LMDB meta page of the version this reader knows.
pub fn is_lmdb(bytes: &[u8]) -> bool {
    u32_at(bytes, META_MAGIC, LE) == Some(MAGIC)
        && u32_at(bytes, META_MAGIC + 4, LE) == Some(VERSION)
}

/// Every key/data pair of the main database, in key order.
pub fn pairs(bytes: &[u8]) -> Result<Vec<Pair>, SasldbError> {
    let page_size = u32_at(bytes, META_FREE_DB, LE).ok_or_else(|| corrupt("short meta page"))?;
    let mut pages = Pages::new(bytes, page_size as usize)?;
    let meta0 = pages.visit(0)?;
    let meta1 = pages.visit(1)?;
    let current = [meta0, meta1]
        .into_iter()
        .filter(|meta| is_meta(meta))
        .max_by_key(|meta| u64_at(meta, META_TXNID, LE))
        .ok_or_else(|| corrupt("no valid meta page"))?;
    let last = field64(current, META_LAST_PAGE)?;
    if last >= pages.count() {
        return Err(corrupt(format!(
            "truncated: the last page is {last}, the file holds {}",
            pages.count()
        )));
    }
    let root = field64(current, META_MAIN_DB + DB_ROOT)?;
    let mut out = Vec::new();
    if root == NO_PAGE {
        return Ok(out);
    }
    // Depth first, children in order, so the pairs come out sorted by key.
    let mut stack = vec![root];
    while let Some(pgno) = stack.pop() {
        let page = pages.visit(pgno)?;
        if field64(page, 0)? != pgno {
            return Err(corrupt(format!("page {pgno} says it is another")));
        }
        let flags = field16(page, 10)?;
        let nodes = nodes(page, pgno)?;
        if flags & (P_BRANCH | P_LEAF | P_LEAF2 | P_OVERFLOW | P_META) == P_BRANCH {
            let first_child = stack.len();
            for at in nodes {
                stack.push(branch_child(page, at, pgno)?);
            }
            stack[first_child..].reverse();
        } else if flags & (P_BRANCH | P_LEAF | P_LEAF2 | P_OVERFLOW | P_META) == P_LEAF {
            for at in nodes {
                out.push(leaf_pair(&mut pages, page, at, pgno)?);
            }
        } else {
            return Err(corrupt(format!(
                "page {pgno} (flags {flags:#x}) in the tree"
            )));
        }
    }
    Ok(out)
}

fn is_meta(page: &[u8]) -> bool {
    u16_at(page, 10, LE).is_some_and(|flags| flags & P_META != 0)
        && u32_at(page, META_MAGIC, LE) == Some(MAGIC)
        && u32_at(page, META_MAGIC + 4, LE) == Some(VERSION)
}

/// The offsets of a branch or leaf page's nodes, in order. Nodes must not overlap, so that
/// what a page yields is bounded by the page.
fn nodes(page: &[u8], pgno: u64) -> Result<Vec<usize>, SasldbError> {
    let lower = usize::from(field16(page, 12)?);
    let upper = usize::from(field16(page, 14)?);
    if lower < PAGE_HEADER || lower > upper || upper > page.len() || lower % 2 != 0 {
        return Err(corrupt(format!("page {pgno}: free space {lower}..{upper}")));
    }
    let leaf = field16(page, 10)? & P_LEAF != 0;
    let mut extents = Vec::with_capacity((lower - PAGE_HEADER) / 2);
    let mut offsets = Vec::with_capacity(extents.capacity());
    for at in (PAGE_HEADER..lower).step_by(2) {
        let node = usize::from(field16(page, at)?);
        let end = node_end(page, node, leaf)
            .filter(|end| node >= upper && *end <= page.len())
            .ok_or_else(|| corrupt(format!("page {pgno}: node at {node}")))?;
        extents.push((node, end));
        offsets.push(node);
    }
    extents.sort_unstable();
    if extents.windows(2).any(|pair| pair[0].1 > pair[1].0) {
        return Err(corrupt(format!("page {pgno}: nodes overlap")));
    }
    Ok(offsets)
}

/// Where the node at `at` ends: its header, key and (on a leaf) its data in place, or the
/// 8-byte page number of its overflow run.
fn node_end(page: &[u8], at: usize, leaf: bool) -> Option<usize> {
    let size = usize::from(u16_at(page, at, LE)?) | usize::from(u16_at(page, at + 2, LE)?) << 16;
    let flags = u16_at(page, at + 4, LE)?;
    let key_size = usize::from(u16_at(page, at + 6, LE)?);
    let data = match (leaf, flags & F_BIGDATA != 0) {
        (false, _) => 0,
        (true, true) => 8,
        (true, false) => size,
    };
    at.checked_add(NODE_HEADER)?
        .checked_add(key_size)?
        .checked_add(data)
}

fn branch_child(page: &[u8], at: usize, pgno: u64) -> Result<u64, SasldbError> {
    let low = u64::from(field16(page, at)?);
    let high = u64::from(field16(page, at + 2)?);
    let top = u64::from(field16(page, at + 4)?);
    let child = low | high << 16 | top << 32;
    if child == pgno {
        return Err(corrupt(format!("page {pgno} is its own child")));
    }
    Ok(child)
}

fn leaf_pair(
    pages: &mut Pages<'_>,
    page: &[u8],
    at: usize,
    pgno: u64,
) -> Result<Pair, SasldbError> {
    let size = usize::from(field16(page, at)?) | usize::from(field16(page, at + 2)?) << 16;
    let flags = field16(page, at + 4)?;
    let key_size = usize::from(field16(page, at + 6)?);
    if flags & (F_SUBDATA | F_DUPDATA) != 0 {
        return Err(SasldbError::Unsupported(format!(
            "sub-databases or duplicates on LMDB page {pgno} (Cyrus SASL writes none)"
        )));
    }
    if size > MAX_ITEM_BYTES || key_size > MAX_ITEM_BYTES {
        return Err(SasldbError::ItemTooLarge);
    }
    let key_at = at + NODE_HEADER;
    let key = page
        .get(key_at..key_at + key_size)
        .ok_or_else(|| corrupt(format!("page {pgno}: key past the page")))?;
    let data_at = key_at + key_size;
    let data = if flags & F_BIGDATA != 0 {
        let first = field64(page, data_at)?;
        let run = pages.visit(first)?;
        if field16(run, 10)? & P_OVERFLOW == 0 || field64(run, 0)? != first {
            return Err(corrupt(format!("page {first} is not an overflow page")));
        }
        let count = u64::from(field32(run, 12)?);
        let run = pages.visit_rest_of_run(first, count)?;
        run.get(PAGE_HEADER..PAGE_HEADER + size)
            .ok_or_else(|| corrupt(format!("overflow run at page {first} is short")))?
    } else {
        page.get(data_at..data_at + size)
            .ok_or_else(|| corrupt(format!("page {pgno}: data past the page")))?
    };
    Ok((key.to_vec(), data.to_vec()))
}

fn field16(bytes: &[u8], at: usize) -> Result<u16, SasldbError> {
    u16_at(bytes, at, LE).ok_or_else(|| corrupt("field past the end of its page"))
}

fn field32(bytes: &[u8], at: usize) -> Result<u32, SasldbError> {
    u32_at(bytes, at, LE).ok_or_else(|| corrupt("field past the end of its page"))
}

fn field64(bytes: &[u8], at: usize) -> Result<u64, SasldbError> {
    u64_at(bytes, at, LE).ok_or_else(|| corrupt("field past the end of its page"))
}

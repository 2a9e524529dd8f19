//! RFC 5322 §2.2 header sections: where a header block ends, its fields, and unfolding.
//!
//! Works on byte slices of the stored message; never allocates for the scan itself. Tolerates
//! bare LF line ends and lines without a colon (they are skipped as fields, as Dovecot does).

/// One header field: the name (without trailing whitespace) and the raw value after the colon,
/// still folded, without the final line end.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// The field name as written, trailing whitespace removed.
    pub name: &'a [u8],
    /// The raw value after the colon, still folded, without the final line end.
    pub value: &'a [u8],
}

/// Length of the header block at the start of `buf`, including the blank separator line.
/// When there is no blank line the whole of `buf` is header (RFC 3501 §6.4.5: "a message which
/// has no body and no blank line").
pub fn header_len(buf: &[u8]) -> usize {
    let mut pos = 0;
    while pos < buf.len() {
        let end = line_end(buf, pos);
        let line = &buf[pos..end];
        if line == b"\r\n" || line == b"\n" {
            return end;
        }
        pos = end;
    }
    buf.len()
}

/// Index just past the line starting at `pos` (past its LF, or `buf.len()`).
pub(crate) fn line_end(buf: &[u8], pos: usize) -> usize {
    match buf[pos..].iter().position(|&b| b == b'\n') {
        Some(i) => pos + i + 1,
        None => buf.len(),
    }
}

/// Splits a header block into fields (RFC 5322 §2.2: a line starting with WSP continues the
/// previous field).
pub fn fields(block: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    let mut pos = 0;
    // (name, value start) of the field being collected; its value runs to `value_end`.
    let mut open: Option<(&[u8], usize)> = None;
    let mut value_end = 0;
    while pos < block.len() {
        let end = line_end(block, pos);
        let line = &block[pos..end];
        let content_end = pos + trim_eol(line).len();
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if open.is_some() {
                value_end = content_end;
            }
        } else {
            if let Some((name, start)) = open.take() {
                out.push(Field {
                    name,
                    value: &block[start..value_end],
                });
            }
            if trim_eol(line).is_empty() {
                break;
            }
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let name = trim_wsp_end(&line[..colon]);
                if !name.is_empty() {
                    open = Some((name, pos + colon + 1));
                    value_end = content_end;
                }
            }
        }
        pos = end;
    }
    if let Some((name, start)) = open {
        out.push(Field {
            name,
            value: &block[start..value_end],
        });
    }
    out
}

/// The value of the last field named `name` (case-insensitive). Both reference servers let the
/// last occurrence win for ENVELOPE fields, and we apply the same rule to MIME fields.
pub(crate) fn last<'a>(fields: &[Field<'a>], name: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .rev()
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| f.value)
}

/// RFC 5322 §2.2.3 unfolding: removes CR and LF only, keeping the WSP that followed them; then
/// drops the whitespace after the colon (both reference servers do), keeping trailing WSP.
pub fn unfold(value: &[u8]) -> Vec<u8> {
    let start = value
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    match start {
        Some(s) => value[s..]
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect(),
        None => Vec::new(),
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

pub(crate) fn trim_wsp_end(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_without_blank_line_is_all_header() {
        assert_eq!(header_len(b"A: b\r\nC: d\r\n"), 12);
        assert_eq!(header_len(b"\r\nbody"), 2);
        assert_eq!(header_len(b"A: b\n\nbody"), 6);
        assert_eq!(header_len(b""), 0);
    }

    #[test]
    fn fields_unfold_continuations_and_trim_names() {
        let f = fields(b"Subject : a\r\n\tb\r\nbogus line\r\nTo: x\r\n\r\nBody: no\r\n");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, b"Subject");
        assert_eq!(f[0].value, b" a\r\n\tb");
        assert_eq!(unfold(f[0].value), b"a\tb");
        assert_eq!(f[1].value, b" x");
    }
}

//! CRLF normalisation of incoming messages (RFC 5322 §2.3): a bare LF becomes CRLF, CRLF
//! stays, a bare CR (not followed by LF) stays as it is, and NUL is refused. Streaming, so a
//! message of any size passes through a bounded buffer.
//!
//! RFC 5322 §2.3 forbids a bare CR in a message as much as a bare LF, but old mail has them
//! (mailers that wrote CR line ends, binary bodies sent as 8bit), and Cyrus and Dovecot both
//! accept and keep them: refusing them stopped mbsync and imapsync migrations at such a
//! message. A bare CR is not a line end for anyone (our MIME scanner, Cyrus and Dovecot all
//! count lines by LF), so keeping it changes no structure, and the message keeps the octets the
//! client sent (RFC822.SIZE = octets sent). A bare LF is still made CRLF: our message files have
//! CRLF line ends (docs/on-disk-format.md), which IMAP serves as they are.
//!
//! LMTP delivery goes through the same normaliser, so a message has the same octets however it
//! arrived. (Cyrus's lmtpd deletes lone CRs instead, while its APPEND keeps them; deleting them
//! would change what a DKIM signature covers and make LMTP and APPEND disagree. The LMTP data
//! decoder never takes a bare CR for a line end, so keeping them cannot move the end of data.)

use crate::error::StoreError;

/// Why input bytes are not an acceptable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NormaliseError {
    Nul { offset: u64 },
    TooBig { limit: u64 },
}

impl NormaliseError {
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            NormaliseError::Nul { offset } => {
                StoreError::BadMessage(format!("NUL byte at byte {offset}"))
            }
            NormaliseError::TooBig { limit } => StoreError::TooBig { limit },
        }
    }
}

/// Streaming converter to CRLF line ends (see the module documentation): a bare LF becomes
/// CRLF, everything else but NUL passes unchanged. Works across chunk boundaries, so a spool
/// file can be fed in pieces.
#[derive(Debug)]
pub struct CrlfNormaliser {
    /// The last octet passed on was a CR, so an LF that comes next (in this chunk or the next
    /// one) ends a CRLF and needs no CR of its own.
    after_cr: bool,
    offset: u64,
    limit: Option<u64>,
    written: u64,
}

impl CrlfNormaliser {
    pub fn new(limit: Option<u64>) -> CrlfNormaliser {
        CrlfNormaliser {
            after_cr: false,
            offset: 0,
            limit,
            written: 0,
        }
    }

    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), NormaliseError> {
        let start = out.len();
        let mut rest = input;
        while !rest.is_empty() {
            // Copy the run of octets up to the next LF or NUL in one go; CRs are among them.
            let run = memchr::memchr2(b'\n', 0, rest).unwrap_or(rest.len());
            out.extend_from_slice(&rest[..run]);
            if let Some(&last) = rest[..run].last() {
                self.after_cr = last == b'\r';
            }
            self.offset += run as u64;
            let Some(&special) = rest.get(run) else {
                break;
            };
            if special != b'\n' {
                return Err(NormaliseError::Nul {
                    offset: self.offset,
                });
            }
            if !self.after_cr {
                out.push(b'\r');
            }
            out.push(b'\n');
            self.after_cr = false;
            self.offset += 1;
            rest = &rest[run + 1..];
        }
        self.written += (out.len() - start) as u64;
        match self.limit {
            Some(limit) if self.written > limit => Err(NormaliseError::TooBig { limit }),
            _ => Ok(()),
        }
    }
}

/// Normalises a whole buffer (see [`CrlfNormaliser`]).
pub fn normalise_crlf(input: &[u8], limit: Option<u64>) -> Result<Vec<u8>, NormaliseError> {
    let mut n = CrlfNormaliser::new(limit);
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    n.feed(input, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_becomes_crlf_and_crlf_stays() {
        let out = normalise_crlf(b"a\nb\r\nc\n", None).unwrap();
        assert_eq!(out, b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn bare_cr_is_kept_as_sent() {
        assert_eq!(normalise_crlf(b"ab\rc", None).unwrap(), b"ab\rc");
        assert_eq!(normalise_crlf(b"ab\r", None).unwrap(), b"ab\r");
        assert_eq!(normalise_crlf(b"\r\r\n\r", None).unwrap(), b"\r\r\n\r");
        assert_eq!(normalise_crlf(b"a\n\rb\n", None).unwrap(), b"a\r\n\rb\r\n");
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(
            normalise_crlf(b"a\0", None),
            Err(NormaliseError::Nul { offset: 1 })
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_kept() {
        let mut n = CrlfNormaliser::new(None);
        let mut out = Vec::new();
        n.feed(b"a\r", &mut out).unwrap();
        n.feed(b"\nb\n", &mut out).unwrap();
        n.feed(b"c\r", &mut out).unwrap();
        n.feed(b"", &mut out).unwrap();
        n.feed(b"\nd\r", &mut out).unwrap();
        n.feed(b"e", &mut out).unwrap();
        assert_eq!(out, b"a\r\nb\r\nc\r\nd\re");
    }

    #[test]
    fn limit_counts_normalised_bytes() {
        assert_eq!(
            normalise_crlf(b"abc\n", Some(4)),
            Err(NormaliseError::TooBig { limit: 4 })
        );
        assert!(normalise_crlf(b"abc\n", Some(5)).is_ok());
    }

    /// The normaliser's contract, one byte at a time: what the run-copying version must equal.
    fn reference(input: &[u8]) -> Result<Vec<u8>, NormaliseError> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\n' if i > 0 && input[i - 1] == b'\r' => out.push(b'\n'),
                b'\n' => out.extend_from_slice(b"\r\n"),
                0 => return Err(NormaliseError::Nul { offset: i as u64 }),
                b => out.push(b),
            }
            i += 1;
        }
        Ok(out)
    }

    proptest::proptest! {
        #[test]
        fn fed_in_any_pieces_it_agrees_with_the_reference(
            input in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::prelude::any::<u8>(),
                    2 => proptest::prelude::Just(b'\n'),
                    2 => proptest::prelude::Just(b'\r'),
                ],
                0..200,
            ),
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let mut n = CrlfNormaliser::new(None);
            let mut out = Vec::new();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.push(input.len());
            cuts.sort_unstable();
            let mut at = 0;
            let mut got = Ok(());
            for cut in cuts {
                got = got.and_then(|()| n.feed(&input[at..cut], &mut out));
                at = cut;
            }
            let got = got.map(|()| out);
            proptest::prop_assert_eq!(got, reference(&input));
        }
    }
}

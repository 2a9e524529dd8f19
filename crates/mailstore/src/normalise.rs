//! CRLF normalisation of incoming messages (RFC 5322 §2.3): bare LF becomes CRLF, CRLF stays,
//! a CR not followed by LF and any NUL are refused. Streaming, so a message of any size passes
//! through a bounded buffer.

use crate::error::StoreError;

/// Why input bytes are not an acceptable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NormaliseError {
    BareCr { offset: u64 },
    Nul { offset: u64 },
    TooBig { limit: u64 },
}

impl NormaliseError {
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            NormaliseError::BareCr { offset } => {
                StoreError::BadMessage(format!("bare CR (not followed by LF) at byte {offset}"))
            }
            NormaliseError::Nul { offset } => {
                StoreError::BadMessage(format!("NUL byte at byte {offset}"))
            }
            NormaliseError::TooBig { limit } => StoreError::TooBig { limit },
        }
    }
}

/// Streaming converter to CRLF line ends: bare LF becomes CRLF, CRLF stays, a CR not followed by
/// LF and any NUL are refused (RFC 5322 §2.3 forbids both in a message). Works across chunk
/// boundaries, so a spool file can be fed in pieces.
#[derive(Debug)]
pub struct CrlfNormaliser {
    pending_cr: bool,
    offset: u64,
    limit: Option<u64>,
    written: u64,
}

impl CrlfNormaliser {
    pub fn new(limit: Option<u64>) -> CrlfNormaliser {
        CrlfNormaliser {
            pending_cr: false,
            offset: 0,
            limit,
            written: 0,
        }
    }

    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), NormaliseError> {
        let start = out.len();
        let mut rest = input;
        while !rest.is_empty() {
            if self.pending_cr {
                // The byte after a CR must be its LF.
                if rest[0] != b'\n' {
                    return Err(NormaliseError::BareCr {
                        offset: self.offset - 1,
                    });
                }
                out.extend_from_slice(b"\r\n");
                self.pending_cr = false;
                self.offset += 1;
                rest = &rest[1..];
                continue;
            }
            // Copy the run of ordinary bytes up to the next CR, LF or NUL in one go.
            let run = memchr::memchr3(b'\r', b'\n', 0, rest).unwrap_or(rest.len());
            out.extend_from_slice(&rest[..run]);
            self.offset += run as u64;
            let Some(&special) = rest.get(run) else {
                break;
            };
            match special {
                b'\n' => out.extend_from_slice(b"\r\n"),
                b'\r' => self.pending_cr = true,
                _ => {
                    return Err(NormaliseError::Nul {
                        offset: self.offset,
                    })
                }
            }
            self.offset += 1;
            rest = &rest[run + 1..];
        }
        self.written += (out.len() - start) as u64;
        match self.limit {
            Some(limit) if self.written > limit => Err(NormaliseError::TooBig { limit }),
            _ => Ok(()),
        }
    }

    /// Ends the input; a trailing lone CR is refused.
    pub fn finish(self) -> Result<(), NormaliseError> {
        if self.pending_cr {
            return Err(NormaliseError::BareCr {
                offset: self.offset - 1,
            });
        }
        Ok(())
    }
}

/// Normalises a whole buffer (see [`CrlfNormaliser`]).
pub fn normalise_crlf(input: &[u8], limit: Option<u64>) -> Result<Vec<u8>, NormaliseError> {
    let mut n = CrlfNormaliser::new(limit);
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    n.feed(input, &mut out)?;
    n.finish()?;
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
    fn bare_cr_is_refused_with_its_offset() {
        assert_eq!(
            normalise_crlf(b"ab\rc", None),
            Err(NormaliseError::BareCr { offset: 2 })
        );
        assert_eq!(
            normalise_crlf(b"ab\r", None),
            Err(NormaliseError::BareCr { offset: 2 })
        );
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
        n.finish().unwrap();
        assert_eq!(out, b"a\r\nb\r\n");
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
                b'\r' if input.get(i + 1) == Some(&b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' => return Err(NormaliseError::BareCr { offset: i as u64 }),
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
            let got = got.and_then(|()| n.finish()).map(|()| out);
            proptest::prop_assert_eq!(got, reference(&input));
        }
    }
}

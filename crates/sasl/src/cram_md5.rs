//! CRAM-MD5 (RFC 2195): the server sends `<random.time@host>`, the client answers
//! `user SP hex(HMAC-MD5(secret, challenge))`. The server needs a recoverable shared secret; it
//! is kept as [`CramMd5Secret`], the two MD5 states HMAC-MD5 reaches after absorbing the padded
//! key (RFC 2104: `K XOR ipad` and `K XOR opad`), from which any challenge's digest follows
//! without the password itself.

use std::sync::Arc;

use hmac::{Mac, SimpleHmac};
use md5::Md5;
use subtle::ConstantTimeEq;
use types::Secret;

use crate::{field, Credentials, FailureReason, Setup, Step, Success};

pub(crate) struct CramMd5 {
    credentials: Arc<dyn Credentials>,
    challenge: Vec<u8>,
    /// Stands in for the secret of a user the source does not know, so that the digest is
    /// computed and compared all the same.
    decoy: CramMd5Secret,
}

impl CramMd5 {
    pub(crate) fn new(mut setup: Setup) -> CramMd5 {
        // RFC 2195 §2: the challenge has the form of an RFC 822 msg-id; keep the host name to
        // characters that cannot break it.
        let host: String = setup
            .hostname
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"<>@".contains(*c))
            .collect();
        let id: String = setup
            .nonces
            .cram_id()
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"<>@".contains(*c))
            .collect();
        let challenge = format!("<{id}@{host}>").into_bytes();
        let decoy =
            CramMd5Secret::from_password(&hmac_md5(setup.unknown_user.key.expose(), &challenge));
        CramMd5 {
            credentials: setup.credentials,
            challenge,
            decoy,
        }
    }

    pub(crate) fn start(&mut self) -> Step {
        Step::Challenge(self.challenge.clone())
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Step {
        self.check(response).unwrap_or_else(Step::from)
    }

    fn check(&self, response: &[u8]) -> Result<Step, FailureReason> {
        let response = field::text(response)?;
        // The digest is the last word: user names may contain spaces.
        let (user, digest) = response
            .rsplit_once(' ')
            .ok_or(FailureReason::Malformed("CRAM-MD5 needs `user digest`"))?;
        if user.is_empty() {
            return Err(FailureReason::Malformed("empty user name"));
        }
        let digest = decode_hex_digest(digest)
            .ok_or(FailureReason::Malformed("the digest is not 32 hex digits"))?;
        let secret = self
            .credentials
            .cram_secret(user)
            .map_err(|e| FailureReason::Unavailable(e.0))?;
        let known = secret.is_some();
        let secret = secret.as_ref().unwrap_or(&self.decoy);
        let expected = secret.digest(&self.challenge);
        let matches: bool = expected[..].ct_eq(&digest[..]).into();
        match (known, matches) {
            (true, true) => Ok(Step::Done(Success {
                authcid: user.to_string(),
                authzid: None,
                additional_data: None,
                trace: None,
            })),
            (true, false) => Err(FailureReason::WrongCredentials),
            (false, _) => Err(FailureReason::UnknownUser),
        }
    }
}

/// What a server keeps for CRAM-MD5 instead of the password: the MD5 chaining values after the
/// first block of HMAC-MD5's inner hash (`K XOR ipad`) and of its outer hash (`K XOR opad`),
/// RFC 2104 §4's "precomputed" intermediate results. They answer every challenge, so they must be
/// kept as secret as a password, but they are not the password: a user's CRAM-MD5 secret does
/// not log in anywhere the password itself is asked for.
#[derive(Clone, PartialEq, Eq)]
pub struct CramMd5Secret {
    inner: [u32; 4],
    outer: [u32; 4],
}

impl CramMd5Secret {
    /// The length of [`CramMd5Secret::to_bytes`].
    pub const LEN: usize = 32;

    /// The secret for a password (RFC 2104: a key longer than MD5's 64-byte block is hashed
    /// first).
    pub fn from_password(password: &[u8]) -> CramMd5Secret {
        let mut key = [0u8; 64];
        if password.len() > key.len() {
            let digest = <Md5 as hmac::digest::Digest>::digest(password);
            key[..digest.len()].copy_from_slice(&digest);
        } else {
            key[..password.len()].copy_from_slice(password);
        }
        let absorb = |pad: u8| {
            let mut block = key;
            block.iter_mut().for_each(|b| *b ^= pad);
            let mut state = md5_state::INITIAL_STATE;
            md5_state::compress(&mut state, &block);
            state
        };
        CramMd5Secret {
            inner: absorb(0x36),
            outer: absorb(0x5c),
        }
    }

    /// The stored form: the inner state's four words, then the outer state's, each
    /// little-endian (MD5's byte order).
    pub fn to_bytes(&self) -> Secret<[u8; 32]> {
        let mut bytes = [0u8; 32];
        let words = self.inner.iter().chain(&self.outer);
        for (out, word) in bytes.chunks_exact_mut(4).zip(words) {
            out.copy_from_slice(&word.to_le_bytes());
        }
        Secret::new(bytes)
    }

    /// Reads [`CramMd5Secret::to_bytes`]'s form back.
    pub fn from_bytes(bytes: &[u8; 32]) -> CramMd5Secret {
        let mut words = [0u32; 8];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        CramMd5Secret {
            inner: [words[0], words[1], words[2], words[3]],
            outer: [words[4], words[5], words[6], words[7]],
        }
    }

    /// HMAC-MD5(password, `data`) from the two states.
    pub(crate) fn digest(&self, data: &[u8]) -> [u8; 16] {
        let inner = md5_state::finish(self.inner, 64, data);
        md5_state::finish(self.outer, 64, &inner)
    }
}

impl std::fmt::Debug for CramMd5Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CramMd5Secret(..)")
    }
}

/// MD5's compression function and padding (RFC 1321 §3), for continuing a hash from a stored
/// chaining value, which the `md-5` crate does not expose.
mod md5_state {
    use std::sync::OnceLock;

    /// RFC 1321 §3.3.
    pub(super) const INITIAL_STATE: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

    /// Per-step left rotations, four per round (RFC 1321 §3.4).
    const SHIFTS: [[u32; 4]; 4] = [
        [7, 12, 17, 22],
        [5, 9, 14, 20],
        [4, 11, 16, 23],
        [6, 10, 15, 21],
    ];

    /// RFC 1321 §3.4: T[i] is the integer part of 4294967296 × |sin(i)|, i in radians, 1 ≤ i ≤ 64.
    fn table() -> &'static [u32; 64] {
        static TABLE: OnceLock<[u32; 64]> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut t = [0u32; 64];
            for (i, entry) in t.iter_mut().enumerate() {
                *entry = ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32;
            }
            t
        })
    }

    /// Absorbs one 64-byte block into `state`.
    pub(super) fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
        let mut m = [0u32; 16];
        for (word, chunk) in m.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        let t = table();
        let [mut a, mut b, mut c, mut d] = *state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let sum = f.wrapping_add(a).wrapping_add(t[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(sum.rotate_left(SHIFTS[i / 16][i % 4]));
        }
        for (s, x) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(x);
        }
    }

    /// The digest of `absorbed` bytes already in `state` (a whole number of blocks) followed by
    /// `data`.
    pub(super) fn finish(mut state: [u32; 4], absorbed: u64, data: &[u8]) -> [u8; 16] {
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            let mut whole = [0u8; 64];
            whole.copy_from_slice(block);
            compress(&mut state, &whole);
        }
        let rest = blocks.remainder();
        let bits = (absorbed + data.len() as u64).wrapping_mul(8);
        let mut tail = [0u8; 128];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let end = if rest.len() < 56 { 64 } else { 128 };
        tail[end - 8..end].copy_from_slice(&bits.to_le_bytes());
        for block in tail[..end].chunks_exact(64) {
            let mut whole = [0u8; 64];
            whole.copy_from_slice(block);
            compress(&mut state, &whole);
        }
        let mut digest = [0u8; 16];
        for (out, word) in digest.chunks_exact_mut(4).zip(state) {
            out.copy_from_slice(&word.to_le_bytes());
        }
        digest
    }
}

fn hmac_md5(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = match SimpleHmac::<Md5>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 2195 §2: the digest is 16 octets as lower-case hex; upper case is accepted too.
pub fn decode_hex_digest(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut digest = [0u8; 16];
    for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *out = (high * 16 + low) as u8;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn md5_of_the_rfc_1321_suite() {
        let md5 = |s: &str| {
            hex(&md5_state::finish(
                md5_state::INITIAL_STATE,
                0,
                s.as_bytes(),
            ))
        };
        assert_eq!(md5(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn the_rfc_2195_digest_from_the_stored_secret() {
        let secret = CramMd5Secret::from_password(b"tanstaaftanstaaf");
        let digest = secret.digest(b"<1896.697170952@postoffice.reston.mci.net>");
        assert_eq!(hex(&digest), "b913a602c7eda7a495b4e6e7334d3890");
    }

    #[test]
    fn the_stored_form_reads_back_and_hides_the_password() {
        let secret = CramMd5Secret::from_password(b"plain-marker");
        let bytes = secret.to_bytes();
        assert_eq!(CramMd5Secret::from_bytes(bytes.expose()), secret);
        assert!(!bytes.expose().windows(6).any(|w| w == b"marker"));
        assert_eq!(format!("{secret:?}"), "CramMd5Secret(..)");
    }

    proptest! {
        /// The states give HMAC-MD5 itself, for keys shorter and longer than a block and
        /// messages across the padding boundaries.
        #[test]
        fn the_states_give_hmac_md5(
            key in proptest::collection::vec(any::<u8>(), 0..150),
            data in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let secret = CramMd5Secret::from_password(&key);
            prop_assert_eq!(secret.digest(&data).to_vec(), hmac_md5(&key, &data));
        }
    }
}

//! Where nonces come from: the system's random generator, or a fixed source in tests so that
//! the RFC examples replay byte for byte.

use base64::Engine;
use rand::RngCore;

/// Fresh, unpredictable strings for challenges.
pub trait NonceSource: Send {
    /// SCRAM's server part of the nonce: printable ASCII without `,` (RFC 5802 §7 `printable`).
    fn scram_nonce(&mut self) -> String;
    /// CRAM-MD5's `random.time` in the challenge `<random.time@host>` (RFC 2195 §2).
    fn cram_id(&mut self) -> String;
}

/// Nonces from the operating system's generator, CRAM-MD5's time from the system clock.
pub struct SystemNonces;

impl NonceSource for SystemNonces {
    fn scram_nonce(&mut self) -> String {
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn cram_id(&mut self) -> String {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!("{}.{time}", rand::rngs::OsRng.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_scram_nonces_are_printable_without_commas_and_differ() {
        let (a, b) = (SystemNonces.scram_nonce(), SystemNonces.scram_nonce());
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| (0x21..=0x7e).contains(&c) && c != b','));
        assert!(SystemNonces.cram_id().contains('.'));
    }
}

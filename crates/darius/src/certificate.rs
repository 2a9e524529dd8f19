//! The embedded default's self-signed certificate: made on first start for `localhost`
//! (subject `CN=localhost`, SANs `localhost`, `127.0.0.1`, `::1`), valid for a year — within the
//! 398 days browsers and mail clients accept — and renewed at start when it has expired, expires
//! within 30 days, or is one an earlier version made (subject `rcgen self signed cert`, valid
//! until 4096). A certificate someone else issued (issuer ≠ subject) is never replaced: a
//! warning says when it is about to expire.
//!
//! Reading a certificate needs only its validity, issuer and subject, so a small DER walker
//! (RFC 5280 §4.1) does it instead of a full X.509 parser; it reads only files on our own disk.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use types::civil::{civil_from_days, days_from_civil};

const VALIDITY_DAYS: i64 = 365;
const RENEW_WITHIN_DAYS: i64 = 30;
const SUBJECT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// The subject rcgen's `generate_simple_self_signed` gives, used by earlier versions.
const OLD_SUBJECT: &[u8] = b"rcgen self signed cert";

/// Makes the certificate when it is missing, renews ours when it is due.
pub fn ensure(cert: &Path, key: &Path) -> Result<()> {
    if !(cert.exists() && key.exists()) {
        generate(cert, key)?;
        tracing::info!(
            "generated a self-signed certificate for localhost in {}",
            cert.display()
        );
        return Ok(());
    }
    let pem = fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
    let facts = match inspect(&pem) {
        Ok(facts) => facts,
        Err(why) => {
            tracing::warn!(
                "{}: cannot read the certificate ({why}); keeping it",
                cert.display()
            );
            return Ok(());
        }
    };
    let days_left = facts.not_after_days - today();
    let reason = if days_left <= 0 {
        format!("it expired on {}", date(facts.not_after_days))
    } else if days_left <= RENEW_WITHIN_DAYS {
        format!("it expires on {}", date(facts.not_after_days))
    } else if facts.old_subject {
        "it was made by an earlier version, for `rcgen self signed cert`".to_string()
    } else {
        return Ok(());
    };
    if !facts.self_signed {
        tracing::warn!("{}: {reason}; renew it", cert.display());
        return Ok(());
    }
    generate(cert, key)?;
    tracing::info!(
        "renewed the self-signed certificate in {} ({reason}); valid until {}",
        cert.display(),
        date(today() + VALIDITY_DAYS)
    );
    Ok(())
}

fn generate(cert: &Path, key: &Path) -> Result<()> {
    let names: Vec<String> = SUBJECT_NAMES.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).context("certificate names")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let day = |days: i64| {
        let (y, m, d) = civil_from_days(days);
        // Any date this code computes has a year within i32 and a month and day within u8.
        rcgen::date_time_ymd(
            i32::try_from(y).unwrap_or(9999),
            u8::try_from(m).unwrap_or(1),
            u8::try_from(d).unwrap_or(1),
        )
    };
    // From yesterday, so that a client whose clock is a little behind accepts it.
    params.not_before = day(today() - 1);
    params.not_after = day(today() + VALIDITY_DAYS);
    let pair = rcgen::KeyPair::generate().context("generating a key")?;
    let made = params
        .self_signed(&pair)
        .context("signing the certificate")?;
    if let Some(dir) = key.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    let mut key_file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(key)
        .with_context(|| format!("creating {}", key.display()))?;
    key_file
        .write_all(pair.serialize_pem().as_bytes())
        .with_context(|| format!("writing {}", key.display()))?;
    fs::write(cert, made.pem()).with_context(|| format!("writing {}", cert.display()))
}

/// Days since 1970-01-01 (UTC).
fn today() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(secs / 86_400).unwrap_or(0)
}

fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What renewal looks at.
#[derive(Debug, PartialEq, Eq)]
struct Facts {
    /// notAfter, in days since 1970-01-01.
    not_after_days: i64,
    self_signed: bool,
    old_subject: bool,
}

/// Reads the first certificate of a PEM file.
fn inspect(pem: &[u8]) -> Result<Facts, &'static str> {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem).map_err(|_| "not PEM")?;
    read_der(&der)
}

/// RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
/// serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, subject, … } … }
fn read_der(der: &[u8]) -> Result<Facts, &'static str> {
    const SEQUENCE: u8 = 0x30;
    let bad = "not an X.509 certificate";
    let (tag, certificate, _) = tlv(der).ok_or(bad)?;
    let (tbs_tag, tbs, _) = tlv(certificate).ok_or(bad)?;
    if tag != SEQUENCE || tbs_tag != SEQUENCE {
        return Err(bad);
    }
    let mut rest = tbs;
    let mut fields = Vec::with_capacity(6);
    while fields.len() < 5 {
        let (tag, contents, after) = tlv(rest).ok_or(bad)?;
        // The version is the only optional field before the subject.
        if !(fields.is_empty() && tag == 0xa0) {
            fields.push((tag, contents));
        }
        rest = after;
    }
    // serialNumber, signature, issuer, validity, subject.
    let (issuer, validity, subject) = (fields[2], fields[3], fields[4]);
    let (_, _, after_not_before) = tlv(validity.1).ok_or(bad)?;
    let (time_tag, not_after, _) = tlv(after_not_before).ok_or(bad)?;
    Ok(Facts {
        not_after_days: time_days(time_tag, not_after).ok_or("bad notAfter")?,
        self_signed: issuer == subject,
        old_subject: subject
            .1
            .windows(OLD_SUBJECT.len())
            .any(|w| w == OLD_SUBJECT),
    })
}

/// One DER tag-length-value: (tag, contents, what follows).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// UTCTime (`YYMMDDhhmmssZ`, RFC 5280 §4.1.2.5.1: YY < 50 is 20YY) or GeneralizedTime
/// (`YYYYMMDDhhmmssZ`), to days since 1970-01-01.
fn time_days(tag: u8, text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let num = |s: &str| s.parse::<i64>().ok();
    let (year, rest) = match tag {
        0x17 => {
            let yy = num(text.get(..2)?)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, text.get(2..)?)
        }
        0x18 => (num(text.get(..4)?)?, text.get(4..)?),
        _ => return None,
    };
    let month = u32::try_from(num(rest.get(..2)?)?).ok()?;
    let day = u32::try_from(num(rest.get(2..4)?)?).ok()?;
    Some(days_from_civil(year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_reads_back_as_ours_and_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        generate(&cert, &key).unwrap();
        let facts = inspect(&fs::read(&cert).unwrap()).unwrap();
        assert_eq!(
            facts,
            Facts {
                not_after_days: today() + VALIDITY_DAYS,
                self_signed: true,
                old_subject: false,
            }
        );
    }

    #[test]
    fn the_old_default_subject_is_recognised() {
        let old = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let facts = inspect(old.cert.pem().as_bytes()).unwrap();
        assert!(facts.old_subject && facts.self_signed);
    }

    #[test]
    fn times_of_both_kinds_are_read() {
        assert_eq!(time_days(0x17, b"700102000000Z"), Some(1));
        assert_eq!(
            time_days(0x17, b"491231000000Z"),
            Some(days_from_civil(2049, 12, 31))
        );
        assert_eq!(
            time_days(0x18, b"40960101000000Z"),
            Some(days_from_civil(4096, 1, 1))
        );
        assert_eq!(time_days(0x17, b"7001"), None);
        assert_eq!(time_days(0x02, b"700102000000Z"), None);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let old = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let der = old.cert.der().to_vec();
        for len in 0..der.len() {
            let _ = read_der(&der[..len]);
        }
        assert!(read_der(&der[..der.len() / 2]).is_err());
    }
}

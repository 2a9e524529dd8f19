//! What SASL needs from X.509 certificates: the `tls-server-end-point` channel binding of the
//! server's certificate (RFC 5929 §4.1) and the identity a client certificate names, for
//! EXTERNAL (its subject's common name or its e-mail address).

use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Any, Decode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// Which part of a client certificate names its holder (`tls_client_identity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientIdentity {
    /// The subject's common name (CN), as Cyrus takes it.
    CommonName,
    /// The first e-mail address: an `rfc822Name` subject alternative name, or else the
    /// subject's `emailAddress` attribute.
    Email,
}

const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// The longest identity taken from a certificate.
const MAX_IDENTITY: usize = 255;

/// RFC 5929 §4.1: the certificate's hash, with the hash function of its signature algorithm
/// (SHA-256 when that is MD5 or SHA-1). `None` for a certificate this cannot be said of
/// (an unparseable one, or a signature algorithm without a single hash such as Ed25519 or
/// RSASSA-PSS): then the server offers no `tls-server-end-point` binding.
pub fn server_end_point(cert_der: &[u8]) -> Option<Vec<u8>> {
    let cert = Certificate::from_der(cert_der).ok()?;
    let oid = cert.signature_algorithm.oid.to_string();
    let hash = match oid.as_str() {
        // md5WithRSA, sha1WithRSA, ecdsa-with-SHA1, dsa-with-sha1, sha256WithRSA,
        // ecdsa-with-SHA256, dsa-with-sha256
        "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.10045.4.1"
        | "1.2.840.10040.4.3"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.3.2"
        | "2.16.840.1.101.3.4.3.2" => Sha256::digest(cert_der).to_vec(),
        // sha384WithRSA, ecdsa-with-SHA384
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => Sha384::digest(cert_der).to_vec(),
        // sha512WithRSA, ecdsa-with-SHA512
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => Sha512::digest(cert_der).to_vec(),
        _ => return None,
    };
    Some(hash)
}

/// When the certificate stops being valid (its `notAfter`), in seconds since the epoch;
/// `None` for one that does not parse.
pub fn not_after(cert_der: &[u8]) -> Option<u64> {
    let cert = Certificate::from_der(cert_der).ok()?;
    Some(
        cert.tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs(),
    )
}

/// The identity a (verified) client certificate names, if it has the part `which` asks for.
pub fn client_identity(cert_der: &[u8], which: ClientIdentity) -> Option<String> {
    let cert = Certificate::from_der(cert_der).ok()?;
    let tbs = &cert.tbs_certificate;
    let attribute = |oid: ObjectIdentifier| {
        tbs.subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|atv| atv.oid == oid)
            .and_then(|atv| text(&atv.value))
    };
    let found = match which {
        ClientIdentity::CommonName => attribute(CN),
        ClientIdentity::Email => tbs
            .extensions
            .iter()
            .flatten()
            .filter(|ext| ext.extn_id == SUBJECT_ALT_NAME)
            .filter_map(|ext| SubjectAltName::from_der(ext.extn_value.as_bytes()).ok())
            .flat_map(|san| san.0)
            .find_map(|name| match name {
                GeneralName::Rfc822Name(mail) => Some(mail.to_string()),
                _ => None,
            })
            .or_else(|| attribute(EMAIL_ADDRESS)),
    }?;
    let usable = !found.is_empty()
        && found.len() <= MAX_IDENTITY
        && !found.chars().any(|c| c.is_control() || c.is_whitespace());
    usable.then_some(found)
}

/// A directory string's text (UTF8String, PrintableString or IA5String).
fn text(value: &Any) -> Option<String> {
    if let Ok(s) = Utf8StringRef::try_from(value) {
        return Some(s.as_str().to_string());
    }
    if let Ok(s) = PrintableStringRef::try_from(value) {
        return Some(s.as_str().to_string());
    }
    Ia5StringRef::try_from(value)
        .ok()
        .map(|s| s.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(params: rcgen::CertificateParams) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_identity_is_the_common_name_or_the_email_address() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "alice");
        params.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
            "alice@example.com".try_into().unwrap(),
        )];
        let der = certificate(params);
        assert_eq!(
            client_identity(&der, ClientIdentity::CommonName).as_deref(),
            Some("alice")
        );
        assert_eq!(
            client_identity(&der, ClientIdentity::Email).as_deref(),
            Some("alice@example.com")
        );
    }

    #[test]
    fn a_certificate_without_the_part_names_nobody() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example");
        let der = certificate(params);
        assert_eq!(client_identity(&der, ClientIdentity::CommonName), None);
        assert_eq!(client_identity(&der, ClientIdentity::Email), None);
        let mut spaced = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        spaced
            .distinguished_name
            .push(rcgen::DnType::CommonName, "alice smith");
        assert_eq!(
            client_identity(&certificate(spaced), ClientIdentity::CommonName),
            None,
            "not a user id"
        );
        assert_eq!(
            client_identity(b"garbage", ClientIdentity::CommonName),
            None
        );
    }

    #[test]
    fn the_end_point_hash_follows_the_signature_algorithm() {
        // rcgen signs with ECDSA P-256 and SHA-256 by default.
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let der = certificate(params);
        assert_eq!(server_end_point(&der), Some(Sha256::digest(&der).to_vec()));
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        assert_eq!(server_end_point(&der), Some(Sha384::digest(&der).to_vec()));
        assert_eq!(server_end_point(b"garbage"), None);
    }
}

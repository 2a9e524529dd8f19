//! TLS server configuration from PEM files (rustls with the aws-lc-rs provider). The
//! certificate and key are read through [`ServerCert`], which a running server replaces on
//! SIGHUP ([`ServerTls::reload`]): handshakes from then on present the new pair, connections
//! already up keep theirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The server's TLS: its configuration, and the certificate it presents.
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    pub cert: Arc<ServerCert>,
}

impl ServerTls {
    /// The certificate's `tls-server-end-point` channel binding data (RFC 5929), when its
    /// signature algorithm defines one.
    pub fn end_point(&self) -> Option<Vec<u8>> {
        self.cert.end_point()
    }

    /// Reads the certificate chain and key again (SIGHUP): new handshakes present them. On
    /// an error the pair in use stays.
    pub fn reload(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        self.cert.reload(cert, key)
    }
}

/// The certificate chain and key a server presents, replaceable while it runs.
#[derive(Debug)]
pub struct ServerCert {
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<Loaded>>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    end_point: Option<Vec<u8>>,
}

impl ServerCert {
    fn load(provider: &Arc<CryptoProvider>, cert: &Path, key: &Path) -> Result<Loaded, TlsError> {
        let file_err = |path: &Path, reason: String| TlsError::File {
            path: path.to_path_buf(),
            reason,
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| file_err(cert, e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_err(cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(file_err(cert, "no certificate found".into()));
        }
        let key_der =
            PrivateKeyDer::from_pem_file(key).map_err(|e| file_err(key, e.to_string()))?;
        let end_point = crate::x509::server_end_point(&chain[0]);
        let key = CertifiedKey::from_der(chain, key_der, provider)
            .map_err(|e| file_err(key, format!("does not go with {}: {e}", cert.display())))?;
        Ok(Loaded {
            key: Arc::new(key),
            end_point,
        })
    }

    fn current(&self) -> Arc<Loaded> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The `tls-server-end-point` data of the certificate presented now.
    pub fn end_point(&self) -> Option<Vec<u8>> {
        self.current().end_point.clone()
    }

    /// When the certificate presented now stops being valid (its `notAfter`), in seconds
    /// since the epoch; `None` when that does not read.
    pub fn not_after(&self) -> Option<u64> {
        let current = self.current();
        crate::x509::not_after(current.key.end_entity_cert().ok()?)
    }

    /// See [`ServerTls::reload`].
    pub fn reload(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        let loaded = Arc::new(ServerCert::load(&self.provider, cert, key)?);
        match self.current.write() {
            Ok(mut guard) => *guard = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        Ok(())
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current().key))
    }
}

/// Loads a certificate chain and its private key, both PEM, into a server configuration that
/// offers TLS 1.2 and 1.3 only. With `client_cas` (a PEM file of CA certificates), clients may
/// present a certificate, which must chain to one of them (a client without one is still
/// served; one with a certificate that does not verify is refused at the handshake).
pub fn load_server_config(
    cert: &Path,
    key: &Path,
    client_cas: Option<&Path>,
) -> Result<ServerTls, TlsError> {
    let file_err = |path: &Path, reason: String| TlsError::File {
        path: path.to_path_buf(),
        reason,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cert = Arc::new(ServerCert {
        current: RwLock::new(Arc::new(ServerCert::load(&provider, cert, key)?)),
        provider: Arc::clone(&provider),
    });
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let builder = match client_cas {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in
                CertificateDer::pem_file_iter(path).map_err(|e| file_err(path, e.to_string()))?
            {
                let ca = ca.map_err(|e| file_err(path, e.to_string()))?;
                roots
                    .add(ca)
                    .map_err(|e| file_err(path, format!("a CA certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(file_err(path, "no CA certificate found".into()));
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|e| file_err(path, e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_cert_resolver(Arc::clone(&cert) as Arc<dyn ResolvesServerCert>);
    Ok(ServerTls {
        config: Arc::new(config),
        cert,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_loads_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, pair.cert.pem()).unwrap();
        std::fs::write(&key, pair.key_pair.serialize_pem()).unwrap();
        assert!(load_server_config(&cert, &key, None).is_ok());
        // A reload with a broken key is refused and leaves the pair in use.
        let tls = load_server_config(&cert, &key, None).unwrap();
        let before = tls.end_point();
        std::fs::write(&key, "not a key").unwrap();
        assert!(tls.reload(&cert, &key).is_err());
        assert_eq!(tls.end_point(), before);
        // Another pair: its certificate, and a key that does not go with the certificate.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(&key, other.key_pair.serialize_pem()).unwrap();
        assert!(tls.reload(&cert, &key).is_err());
        std::fs::write(&cert, other.cert.pem()).unwrap();
        tls.reload(&cert, &key).unwrap();
        assert_ne!(tls.end_point(), before);
        std::fs::write(&key, "not a key").unwrap();
        let err = load_server_config(&cert, &key, None).unwrap_err();
        assert!(
            err.to_string().starts_with(&key.display().to_string()),
            "{err}"
        );
    }
}

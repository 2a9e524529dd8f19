//! TLS server configuration from PEM files (rustls with the aws-lc-rs provider).

use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// The server's TLS: its configuration and its certificate's `tls-server-end-point` channel
/// binding data (RFC 5929), when the certificate's signature algorithm defines one.
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    pub end_point: Option<Vec<u8>>,
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
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_err(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_err(cert, "no certificate found".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| file_err(key, e.to_string()))?;
    let end_point = crate::x509::server_end_point(&chain[0]);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
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
    let config = builder.with_single_cert(chain, key_der)?;
    Ok(ServerTls {
        config: Arc::new(config),
        end_point,
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
        std::fs::write(&key, "not a key").unwrap();
        let err = load_server_config(&cert, &key, None).unwrap_err();
        assert!(
            err.to_string().starts_with(&key.display().to_string()),
            "{err}"
        );
    }
}

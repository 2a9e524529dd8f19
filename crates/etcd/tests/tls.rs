//! TLS to a real etcd member: a server certificate from a test CA, then client certificates.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use etcd::testing::{EtcdCluster, MemberOptions, ServerTlsFiles};
use etcd::{Client, Error, TlsConfig, WatchEvent, WatchRequest};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A CA and its key, with a certificate it signed for loopback and one for a client, as PEM
/// files in `dir` (`ca.pem`, `server.pem`, `server.key`, `client.pem`, `client.key`).
fn make_pki(dir: &Path, name: &str) -> PathBuf {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} CA"));
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for (who, names) in [
        (
            "server",
            vec!["127.0.0.1".to_string(), "localhost".to_string()],
        ),
        ("client", vec![]),
    ] {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, who);
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join(format!("{who}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{who}.key")), key.serialize_pem()).unwrap();
    }
    dir
}

/// A member serving TLS with the certificates under `pki`, requiring client certificates
/// signed by `client_ca` when given (and then the cluster's clients present `client.pem`).
async fn tls_member(pki: &Path, client_ca: Option<PathBuf>) -> Option<EtcdCluster> {
    let client_cert = client_ca
        .is_some()
        .then(|| (pki.join("client.pem"), pki.join("client.key")));
    EtcdCluster::single_with(MemberOptions {
        tls: Some(ServerTlsFiles {
            cert_file: pki.join("server.pem"),
            key_file: pki.join("server.key"),
            ca_file: pki.join("ca.pem"),
            client_ca_file: client_ca,
            client_cert,
        }),
        ..MemberOptions::default()
    })
    .await
}

#[tokio::test]
async fn requests_and_watches_work_over_tls_and_a_foreign_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "good");
    let other = make_pki(dir.path(), "other");
    let Some(cluster) = tls_member(&pki, None).await else {
        return;
    };
    assert!(cluster.endpoint(0).starts_with("https://"));
    let client = Client::new(cluster.client_config()).unwrap();
    let put = client.put(b"tls/k", b"v", None).await.unwrap();
    assert_eq!(client.get(b"tls/k").await.unwrap().unwrap().value, b"v");
    let mut watcher = client
        .watch(WatchRequest::key(b"tls/k").from_revision(put.revision))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(event, WatchEvent::Events { revision, .. } if revision == put.revision));

    let mut config = cluster.client_config();
    config.tls = Some(TlsConfig {
        ca_file: other.join("ca.pem"),
        cert_file: None,
        key_file: None,
    });
    let err = Client::new(config)
        .unwrap()
        .get(b"tls/k")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err}");

    let mut config = cluster.client_config();
    config.tls = Some(TlsConfig {
        ca_file: dir.path().join("missing.pem"),
        cert_file: None,
        key_file: None,
    });
    assert!(matches!(Client::new(config), Err(Error::Tls(_))));
}

#[tokio::test]
async fn a_member_that_requires_client_certificates_takes_ours() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "pki");
    let Some(cluster) = tls_member(&pki, Some(pki.join("ca.pem"))).await else {
        return;
    };
    let config = cluster.client_config();
    let tls = config.tls.clone().unwrap();
    assert_eq!(tls.cert_file, Some(pki.join("client.pem")));
    let client = Client::new(config).unwrap();
    client.put(b"mtls/k", b"v", None).await.unwrap();
    assert_eq!(client.get(b"mtls/k").await.unwrap().unwrap().value, b"v");

    let mut config = cluster.client_config();
    config.tls = Some(TlsConfig {
        cert_file: None,
        key_file: None,
        ..tls
    });
    let err = Client::new(config)
        .unwrap()
        .get(b"mtls/k")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Tls(_) | Error::Unavailable(_)),
        "{err}"
    );
}

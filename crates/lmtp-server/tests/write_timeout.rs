//! A client that sends commands but never reads its replies: once the socket buffers are full
//! the server's writes block, and the write timeout must end the session rather than let it
//! hold its task and buffers for ever. Over a real TCP socket, with a short write timeout.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use lmtp_server::{LmtpConfig, LmtpServer, LocalDomains, RcptCase};
use mailservice::{MailService, ServiceConfig};

fn lmtp_server(dir: &std::path::Path, write_timeout: Duration) -> Arc<LmtpServer> {
    let partitions = [("default".to_string(), dir.join("spool"))].into();
    let store_config = mailstore::StoreConfig::new(dir.join("conf"), partitions, "default");
    let store = mailstore::Store::open(store_config).unwrap();
    let service = MailService::new(
        store,
        ServiceConfig {
            admins: Vec::new().into(),
            unix_hierarchy_sep: false,
            domains: types::Domains::off(),
        },
    );
    let spool_dir = dir.join("tmp");
    std::fs::create_dir_all(&spool_dir).unwrap();
    LmtpServer::new(
        service,
        LmtpConfig {
            tls: None,
            servername: "lmtp.test".into(),
            max_message_size: None,
            rcpt_case: RcptCase::Downcase,
            postuser: None,
            local_domains: LocalDomains::Any,
            single_instance_store: true,
            duplicate_suppression: true,
            spool_dir,
            timeout: Duration::from_secs(300),
            write_timeout,
            max_line: lmtp_proto::MAX_COMMAND_LINE,
            unix_socket_trusted: true,
            proxy: None,
            proxy_pooling: lmtp_server::ProxyPooling::default(),
            proxy_tls: net::ClientTls::off(),
        },
    )
}

#[test]
fn a_client_that_never_reads_is_disconnected_after_the_write_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async { lmtp_server(dir.path(), Duration::from_secs(1)) });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = net::Shutdown::new();
    let signal = shutdown.signal();
    let session = rt.spawn(async move {
        let (stream, peer) = listener.accept().await.unwrap();
        let info = net::ConnInfo {
            peer,
            local: stream.local_addr().unwrap(),
        };
        lmtp_server::serve_tcp(server, stream, info, signal).await;
    });
    // Pipelined NOOPs, never reading a reply, until the server gives up on the connection.
    let writer = std::thread::spawn(move || {
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let burst = b"NOOP\r\n".repeat(10_000);
        let mut sent = 0usize;
        while client.write_all(&burst).is_ok() {
            sent += burst.len();
        }
        sent
    });
    // A generous bound to detect a hang, not a timing assertion.
    let ended =
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(120), session).await });
    assert!(
        ended.is_ok(),
        "the session still waits on a client that never reads"
    );
    let sent = writer.join().unwrap();
    assert!(sent > 0);
}

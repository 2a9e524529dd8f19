//! The load generator's own protocol clients. They know nothing of Darius's server crates, so
//! every server is driven the same way (POP3 lines are written and read with the I/O-free
//! `pop3-proto` codec, ManageSieve's with `managesieve-proto`).

pub mod imap;
pub mod lmtp;
pub mod managesieve;
pub mod net;
pub mod parse;
pub mod pop3;

/// Writes `bytes` to a client's connection and flushes them, within `timeout`: every client's
/// one way to send.
pub(crate) async fn send_within(
    io: &mut tokio::io::BufReader<net::BoxStream>,
    bytes: &[u8],
    timeout: std::time::Duration,
) -> Result<(), imap::ClientError> {
    use tokio::io::AsyncWriteExt as _;
    let w = async {
        io.get_mut().write_all(bytes).await?;
        io.get_mut().flush().await
    };
    tokio::time::timeout(timeout, w)
        .await
        .map_err(|_| imap::ClientError::Timeout)?
        .map_err(imap::ClientError::Io)
}

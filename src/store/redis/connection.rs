//! One TCP connection to a database: RESP2 frames in and out, pipelined.
//!
//! A [`Connection`] is owned by exactly one task (the command worker of a database or the
//! pub/sub task), so it needs no locking. Everything is pipelined: [`Connection::pipeline`]
//! writes all frames and flushes once, then reads exactly as many replies. That is also how
//! `multi … exec` must be sent to js-controller's simulator, which answers `multi` only when
//! `exec` arrives. Every wait has a deadline: a server that stops answering counts as gone.

use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::codec::WireCodec;
use super::frame::{cmd, error_text, Frame};
use super::DbConfig;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server may take to answer a pipeline before the connection counts as dead.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// Why talking to the server failed. `Gone` means the connection is unusable (reconnect);
/// `Refused` is a clean error reply to a setup command.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The connection failed, closed or timed out.
    #[error("{0}")]
    Gone(String),
    /// The server answered a setup command (`auth`, `select`) with an error.
    #[error("{0}")]
    Refused(String),
}

/// A connection to one database.
pub struct Connection {
    framed: Framed<TcpStream, WireCodec>,
}

impl Connection {
    /// Connect, then `auth` (when a password is configured) and `select` (when a database
    /// other than 0 is configured). The simulator knows neither command, so neither is sent
    /// unless asked for. The password never appears in an error.
    pub async fn open(cfg: &DbConfig) -> Result<Connection, ConnError> {
        let addr = (cfg.host.as_str(), cfg.port);
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| ConnError::Gone("connecting timed out".into()))?
            .map_err(|e| ConnError::Gone(format!("cannot connect: {e}")))?;
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            framed: Framed::new(stream, WireCodec::default()),
        };
        let mut setup = Vec::new();
        if let Some(pw) = &cfg.password {
            setup.push(("auth", cmd("auth", [pw.clone()])));
        }
        if let Some(db) = cfg.db.filter(|&db| db != 0) {
            setup.push(("select", cmd("select", [db.to_string()])));
        }
        if !setup.is_empty() {
            let (names, frames): (Vec<_>, Vec<_>) = setup.into_iter().unzip();
            let replies = conn.pipeline(frames).await?;
            for (name, reply) in names.iter().zip(&replies) {
                if let Some(e) = error_text(reply) {
                    // The server's text, not our command: it never contains the password.
                    return Err(ConnError::Refused(format!("`{name}` was refused: {e}")));
                }
            }
        }
        Ok(conn)
    }

    /// Send all frames in one write, then read one reply per frame, in order.
    pub async fn pipeline(&mut self, frames: Vec<Frame>) -> Result<Vec<Frame>, ConnError> {
        let n = frames.len();
        self.send(frames).await?;
        let mut replies = Vec::with_capacity(n);
        let read_all = async {
            while replies.len() < n {
                replies.push(self.next_frame().await?);
            }
            Ok::<_, ConnError>(())
        };
        tokio::time::timeout(REPLY_TIMEOUT, read_all)
            .await
            .map_err(|_| ConnError::Gone("the server stopped answering".into()))??;
        self.release_buffers();
        Ok(replies)
    }

    /// Give back a read or write buffer that a large reply or pipeline grew (a page of
    /// 1,000 objects is over a megabyte), once it is empty: kept, it stayed resident for
    /// the life of the connection, and a warm start held about 2 MiB more than a cold one.
    fn release_buffers(&mut self) {
        const KEEP: usize = 64 * 1024;
        let read = self.framed.read_buffer_mut();
        if read.is_empty() && read.capacity() > KEEP {
            *read = BytesMut::new();
        }
        let write = self.framed.write_buffer_mut();
        if write.is_empty() && write.capacity() > KEEP {
            *write = BytesMut::new();
        }
    }

    /// Send frames without waiting for replies (pub/sub commands, whose confirmations arrive
    /// among the messages).
    pub async fn send(&mut self, frames: Vec<Frame>) -> Result<(), ConnError> {
        let write = async {
            for f in frames {
                self.framed.feed(f).await?;
            }
            SinkExt::<Frame>::flush(&mut self.framed).await
        };
        tokio::time::timeout(REPLY_TIMEOUT, write)
            .await
            .map_err(|_| ConnError::Gone("writing to the server timed out".into()))?
            .map_err(|e| ConnError::Gone(format!("write failed: {e}")))
    }

    /// The next frame from the server; an error when the connection closed or broke.
    pub async fn next_frame(&mut self) -> Result<Frame, ConnError> {
        match self.framed.next().await {
            Some(Ok(f)) => Ok(f),
            Some(Err(e)) => Err(ConnError::Gone(format!("read failed: {e}"))),
            None => Err(ConnError::Gone("the server closed the connection".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A reply of a megabyte grows the read buffer to hold it; once it is read, the buffer
    /// is given back instead of staying resident for the life of the connection.
    #[tokio::test]
    async fn a_large_reply_leaves_no_large_buffer_behind() {
        const LEN: usize = 1 << 20;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf).await.unwrap();
            let mut reply = format!("${LEN}\r\n").into_bytes();
            reply.resize(reply.len() + LEN, b'x');
            reply.extend_from_slice(b"\r\n");
            s.write_all(&reply).await.unwrap();
            // Held open until the client is done.
            let _ = s.read(&mut buf).await;
        });
        let cfg = DbConfig {
            host: "127.0.0.1".into(),
            port,
            password: None,
            db: None,
        };
        let mut conn = Connection::open(&cfg).await.unwrap();
        let replies = conn
            .pipeline(vec![cmd("get", ["big".to_string()])])
            .await
            .unwrap();
        match &replies[0] {
            Frame::BulkString(b) => assert_eq!(b.len(), LEN),
            other => panic!("{other:?}"),
        }
        assert!(
            conn.framed.read_buffer().capacity() <= 64 * 1024,
            "read buffer kept {} bytes",
            conn.framed.read_buffer().capacity()
        );
        drop(conn);
        server.await.unwrap();
    }
}

//! The codec of a connection: `redis-protocol`'s RESP2 codec behind a nesting guard, and
//! the same decoding over a plain buffer for tests and fuzzing.
//!
//! Why a guard: the RESP2 decoder of `redis-protocol` recurses once per level of nested
//! arrays. A reply of a few hundred kilobytes of `*1\r\n*1\r\n…` (from a broken server, or
//! anyone between us and it: the connection is plain TCP) overflows the stack and aborts the
//! whole process, which no error handling can catch (seen while writing the fuzz target
//! `resp_decoder`; its corpus keeps the input). Our replies nest at most two levels (an
//! `exec` result of arrays), so [`WireCodec`] refuses a reply nested deeper than
//! [`MAX_DEPTH`] before the decoder sees it; the connection then counts as gone and is
//! opened again, like after any decode error.
//!
//! The guard only walks the frame headers (type byte, length, CRLF); the frames themselves
//! are still read by `redis-protocol`.
//!
//! [`decode_replies`] runs the connection's codec over a buffer, so that tests and the fuzz
//! targets (`fuzz/`) can feed it any bytes: whatever arrives ends in frames, "wait for more
//! bytes" or a decode error, never in a panic. The reply helpers the store applies to
//! frames are re-exported for the same reason.

use bytes::BytesMut;
use redis_protocol::codec::Resp2;
use tokio_util::codec::{Decoder, Encoder};

pub use super::commands::mget_values;
pub use super::frame::{array, describe, error_text, text, Frame};

/// Replies nested deeper than this are refused (ours nest at most 2 levels).
pub const MAX_DEPTH: usize = 32;

/// The codec of a connection: commands out, replies in.
#[derive(Debug, Default)]
pub struct WireCodec {
    inner: Resp2,
}

/// Why bytes could not be read or written as RESP2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

impl From<std::io::Error> for CodecError {
    fn from(e: std::io::Error) -> Self {
        CodecError(e.to_string())
    }
}

impl Decoder for WireCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if nested_deeper_than(src, MAX_DEPTH) {
            return Err(CodecError(format!(
                "a reply nested deeper than {MAX_DEPTH} levels (not one of ours)"
            )));
        }
        self.inner
            .decode(src)
            .map_err(|e| CodecError(format!("not a RESP2 reply: {e}")))
    }
}

impl Encoder<Frame> for WireCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.inner
            .encode(item, dst)
            .map_err(|e| CodecError(format!("cannot encode a command: {e}")))
    }
}

/// Does the first frame in `buf` open more than `limit` nested arrays? Walks the headers
/// without recursion and stops at the end of the first frame; an incomplete or malformed
/// header ends the walk with `false` (the decoder then waits or reports the error).
fn nested_deeper_than(buf: &[u8], limit: usize) -> bool {
    // Elements still to come of each open array.
    let mut open: Vec<u64> = Vec::new();
    let mut pos = 0usize;
    loop {
        let Some(&kind) = buf.get(pos) else {
            return false;
        };
        // The header line after the type byte, up to its CRLF.
        let Some(len) = buf[pos + 1..].windows(2).position(|w| w == b"\r\n") else {
            return false;
        };
        let line = &buf[pos + 1..pos + 1 + len];
        pos += 1 + len + 2;
        let number = || std::str::from_utf8(line).ok()?.parse::<i64>().ok();
        match kind {
            b'*' => match number() {
                Some(n) if n > 0 => {
                    open.push(n as u64);
                    if open.len() > limit {
                        return true;
                    }
                    continue;
                }
                Some(_) => {}
                None => return false,
            },
            b'$' => match number() {
                Some(n) if n >= 0 => match usize::try_from(n).ok().and_then(|n| n.checked_add(2)) {
                    Some(skip) => pos = pos.saturating_add(skip),
                    None => return false,
                },
                Some(_) => {}
                None => return false,
            },
            b'+' | b'-' | b':' => {}
            _ => return false,
        }
        // An element is complete: so is every array whose last element it was.
        loop {
            match open.last_mut() {
                None => return false,
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    open.pop();
                }
            }
        }
    }
}

/// What [`decode_replies`] made of a buffer.
#[derive(Debug)]
pub struct Replies {
    /// The complete frames, in order.
    pub frames: Vec<Frame>,
    /// Bytes left over: the start of a frame that needs more bytes, or the bytes the
    /// decoder failed on.
    pub pending: usize,
    /// The decode error that stopped reading, if one did.
    pub error: Option<CodecError>,
}

/// Read every complete reply in `bytes` with the connections' codec.
pub fn decode_replies(bytes: &[u8]) -> Replies {
    let mut codec = WireCodec::default();
    let mut buf = BytesMut::from(bytes);
    let mut frames = Vec::new();
    let error = loop {
        match codec.decode(&mut buf) {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Replies {
        frames,
        pending: buf.len(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_partial_frames_and_garbage() {
        let r = decode_replies(b"+OK\r\n:5\r\n$3\r\nabc\r\n*2\r\n$1\r\nx\r\n$-1\r\n$5\r\nab");
        assert_eq!(r.frames.len(), 4);
        assert_eq!(text(&r.frames[2]).as_deref(), Some("abc"));
        assert_eq!(describe(&r.frames[3]), "array of 2");
        assert_eq!(r.pending, 6, "the partial bulk string waits for more");
        assert!(r.error.is_none());

        let r = decode_replies(b"+OK\r\n?what\r\n");
        assert_eq!(r.frames.len(), 1);
        assert!(r.error.is_some());

        // Huge and negative lengths: wait for more, or an error; nothing is allocated ahead.
        let r = decode_replies(b"$9223372036854775807\r\nabc");
        assert!(r.frames.is_empty() && r.error.is_none());
        assert!(decode_replies(b"$-7\r\n").error.is_some());
        assert!(decode_replies(b"*-7\r\n").error.is_some());
        let r = decode_replies(b"*9223372036854775807\r\n:1\r\n");
        assert!(r.frames.is_empty() && r.error.is_none());
    }

    /// Regression (fuzz/corpus/resp_decoder/regression-deep-nesting): 200,000 nested
    /// arrays overflowed the stack inside the decoder and aborted the process.
    #[test]
    fn deep_nesting_is_an_error_not_an_abort() {
        let mut bytes = b"*1\r\n".repeat(200_000);
        bytes.extend_from_slice(b":1\r\n");
        let r = decode_replies(&bytes);
        assert!(r.frames.is_empty());
        assert!(r.error.unwrap().to_string().contains("nested deeper"));
        // Also when the nesting hides behind earlier elements and bulk strings.
        let mut bytes = Vec::new();
        for _ in 0..100 {
            bytes.extend_from_slice(b"*3\r\n$2\r\n\r\n\r\n:1\r\n");
        }
        assert!(decode_replies(&bytes).error.is_some());
    }

    /// Regression (fuzz/corpus/resp_decoder/regression-guard-crlf-*): the guard's first
    /// version sliced `[1..0]` when a type byte was itself the CR of a CRLF.
    #[test]
    fn a_crlf_where_a_type_byte_belongs_is_a_decode_error() {
        for bytes in [
            &b"\r\nab\r\n"[..],
            b"+\xff\xfe\r\n$2\r\n\xc3\n-\x80\r\nt",
            b"$1\r\nx\r\n\r\n",
        ] {
            let r = decode_replies(bytes);
            assert!(r.error.is_some() || r.pending > 0, "{bytes:?}");
        }
    }

    #[test]
    fn nesting_within_the_limit_decodes() {
        let mut bytes = b"*1\r\n".repeat(MAX_DEPTH);
        bytes.extend_from_slice(b"+OK\r\n");
        let r = decode_replies(&bytes);
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.frames.len(), 1);
        // Siblings do not add up: a wide reply is fine.
        let mut bytes = b"*3\r\n".to_vec();
        for _ in 0..3 {
            bytes.extend_from_slice(&b"*1\r\n".repeat(MAX_DEPTH - 1));
            bytes.extend_from_slice(b":7\r\n");
        }
        let r = decode_replies(&bytes);
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.frames.len(), 1);
        assert_eq!(r.pending, 0);
    }
}

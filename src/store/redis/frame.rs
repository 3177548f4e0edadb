//! RESP2 frames: building commands and reading replies.
//!
//! The wire format itself is `redis-protocol`'s ([`Frame`] is its `BytesFrame`); this file
//! only adds what a client needs on top: a command is an array of bulk strings whose first
//! element is the lowercase command name (js-controller's simulator refuses `GET`), and a
//! reply is turned into text, a list or an error with the command's context.

use bytes::Bytes;
pub use redis_protocol::resp2::types::BytesFrame as Frame;

/// A command as sent on the wire: `["set", "io.x", "{…}"]`.
///
/// Built by [`cmd`]; the name must be lowercase, which the constructor checks in debug builds.
pub fn cmd<I, A>(name: &str, args: I) -> Frame
where
    I: IntoIterator<Item = A>,
    A: Into<Bytes>,
{
    debug_assert!(
        !name.bytes().any(|b| b.is_ascii_uppercase()),
        "js-controller's simulator only knows lowercase command names"
    );
    let mut parts = vec![Frame::BulkString(Bytes::copy_from_slice(name.as_bytes()))];
    parts.extend(args.into_iter().map(|a| Frame::BulkString(a.into())));
    Frame::Array(parts)
}

/// The server's error text when `frame` is an error reply.
pub fn error_text(frame: &Frame) -> Option<&str> {
    match frame {
        Frame::Error(e) => Some(e),
        _ => None,
    }
}

/// A bulk or simple string reply as text; `None` for Null (a missing key) and anything else.
pub fn text(frame: &Frame) -> Option<String> {
    match frame {
        Frame::BulkString(b) | Frame::SimpleString(b) => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        Frame::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

/// An array reply's elements; `None` when the reply is not an array.
pub fn array(frame: Frame) -> Option<Vec<Frame>> {
    match frame {
        Frame::Array(items) => Some(items),
        _ => None,
    }
}

/// A short description of a reply for error messages (never its full content).
pub fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Error(e) => format!("error {e:?}"),
        Frame::Null => "null".into(),
        Frame::Integer(i) => format!("integer {i}"),
        Frame::Array(a) => format!("array of {}", a.len()),
        Frame::BulkString(b) | Frame::SimpleString(b) => {
            let s = String::from_utf8_lossy(b);
            if s.chars().count() > 40 {
                format!("{:?}…", s.chars().take(40).collect::<String>())
            } else {
                format!("{s:?}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_an_array_of_bulk_strings() {
        let f = cmd("set", ["io.a".to_string(), "1".to_string()]);
        let Frame::Array(parts) = f else {
            panic!("not an array")
        };
        let texts: Vec<_> = parts.iter().map(|p| text(p).unwrap()).collect();
        assert_eq!(texts, ["set", "io.a", "1"]);
        assert!(matches!(parts[0], Frame::BulkString(_)));
    }

    #[test]
    fn replies() {
        assert_eq!(text(&Frame::Null), None);
        assert_eq!(error_text(&Frame::Error("ERR x".into())), Some("ERR x"));
        assert_eq!(describe(&Frame::Array(vec![Frame::Null])), "array of 1");
    }
}

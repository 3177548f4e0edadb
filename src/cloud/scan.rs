//! A cursor over JSON text that finds where things are and checks the syntax on the way,
//! in one pass.
//!
//! The event path reads a websocket message once: this cursor locates the events, each
//! device and each of its fields ([`super::report`]) and validates the text as it goes
//! (strings, escapes, numbers, literals, nesting), so that serde_json need not read the
//! same bytes first only to say they are JSON. Whatever it is not sure of — an escaped key,
//! nesting deeper than [`MAX_DEPTH`] — it answers None for, and the caller then gives the
//! text to serde_json: so it may refuse valid JSON, but it never accepts text serde_json
//! would refuse (`tests/report.rs` checks both paths give the same answer on every
//! corruption of real messages).

/// Byte range `[start, end)` in the text.
pub(crate) type Span = (u32, u32);

/// Nesting deeper than this inside one value is left to serde_json (which refuses a
/// document nested deeper than 128; a device's field sits 7 levels down in a message).
pub(crate) const MAX_DEPTH: usize = 100;

/// Where the first byte that ends a run of plain string content lies in `chunk` (8 bytes,
/// little-endian): `"`, `\` or a control character (which JSON allows only escaped).
/// Eight bytes at a time, as serde_json does: strings are most of a device's text.
fn string_stop(chunk: u64) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero_in(chunk ^ (ONES * b'"' as u64));
    let backslash = zero_in(chunk ^ (ONES * b'\\' as u64));
    let control = chunk.wrapping_sub(ONES * 0x20) & !chunk & HIGH;
    // Only the lowest flagged byte is exact (a borrow can flag bytes above it): it is the
    // one wanted.
    let mask = quote | backslash | control;
    (mask != 0).then(|| mask.trailing_zeros() as usize / 8)
}

/// A cursor over JSON text. Every method that reads something returns None when the text
/// there is not what it reads (or not valid JSON); the cursor never reads outside the text.
pub(crate) struct Scan<'t> {
    t: &'t str,
    b: &'t [u8],
    i: usize,
}

impl<'t> Scan<'t> {
    /// A cursor at the start of `text`; None for a text too long for [`Span`]s.
    pub(crate) fn new(text: &'t str) -> Option<Scan<'t>> {
        u32::try_from(text.len()).ok()?;
        Some(Scan {
            t: text,
            b: text.as_bytes(),
            i: 0,
        })
    }

    /// The bytes of a span.
    pub(crate) fn text(&self, s: Span) -> &'t [u8] {
        &self.b[s.0 as usize..s.1 as usize]
    }

    /// The text of a span (spans begin and end at ASCII bytes: quotes, brackets, digits).
    pub(crate) fn str(&self, s: Span) -> &'t str {
        &self.t[s.0 as usize..s.1 as usize]
    }

    /// Where the cursor is.
    pub(crate) fn pos(&self) -> u32 {
        self.i as u32
    }

    /// Only whitespace is left.
    pub(crate) fn end(&mut self) -> Option<()> {
        self.ws();
        (self.i == self.b.len()).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// An object at the cursor whose keys are plain strings (a key with an escape is
    /// refused): `member` is called with each key's span (inside the quotes) and reads the
    /// value after it.
    pub(crate) fn object(
        &mut self,
        member: impl FnMut(&mut Self, Span) -> Option<()>,
    ) -> Option<()> {
        self.members(true, member)
    }

    fn members(
        &mut self,
        plain_keys: bool,
        mut member: impl FnMut(&mut Self, Span) -> Option<()>,
    ) -> Option<()> {
        self.sequence(b'{', b'}', |s| {
            let (key, escaped) = s.string()?;
            if escaped && plain_keys {
                return None;
            }
            s.eat(b':')?;
            member(s, key)
        })
    }

    /// `open`, items separated by commas, `close`: the shape of objects and arrays alike.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string at the cursor: the span of its contents and whether it holds an escape.
    pub(crate) fn string(&mut self) -> Option<(Span, bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            let at = self.string_stop()?;
            match self.b[at] {
                b'"' => {
                    self.i = at + 1;
                    return Some(((start as u32, at as u32), escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.i = at + 1;
                    self.escape()?;
                }
                _ => return None, // a control character
            }
        }
    }

    /// The position of the next `"`, `\` or control character from the cursor on.
    fn string_stop(&self) -> Option<usize> {
        let mut at = self.i;
        while let Some(chunk) = self.b.get(at..at + 8) {
            let word = u64::from_le_bytes(chunk.try_into().ok()?);
            if let Some(k) = string_stop(word) {
                return Some(at + k);
            }
            at += 8;
        }
        let tail = self.b.get(at..)?;
        Some(
            at + tail
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?,
        )
    }

    /// The rest of an escape after its `\`.
    fn escape(&mut self) -> Option<()> {
        match *self.b.get(self.i)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
            b'u' => {
                let hex = self.b.get(self.i + 1..self.i + 5)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                self.i += 5;
            }
            _ => return None,
        }
        Some(())
    }

    /// A string without escapes (a type, an id, a label): the span of its contents.
    pub(crate) fn plain_string(&mut self) -> Option<Span> {
        match self.string()? {
            (s, false) => Some(s),
            _ => None,
        }
    }

    /// A plain string, or `null` (None inside).
    pub(crate) fn plain_string_or_null(&mut self) -> Option<Option<Span>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        self.plain_string().map(Some)
    }

    /// Any value at the cursor, checked: its span. None when it is not valid JSON or is
    /// nested deeper than [`MAX_DEPTH`].
    pub(crate) fn value(&mut self) -> Option<Span> {
        self.ws();
        let start = self.i;
        self.any(0)?;
        Some((start as u32, self.i as u32))
    }

    fn any(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' if depth < MAX_DEPTH => self.members(false, |s, _| s.any(depth + 1)),
            b'[' if depth < MAX_DEPTH => self.sequence(b'[', b']', |s| s.any(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b
            .get(self.i..)?
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// A number by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    /// What follows it is the caller's to check (`01` reads `0`, then fails there).
    fn number(&mut self) -> Option<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match *self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            self.some_digits()?;
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.i;
        self.digits();
        (self.i > start).then_some(())
    }
}

/// Set a slot that must be set once only (a duplicate key is left to serde_json).
pub(crate) fn set_once(slot: &mut Option<Span>, v: Span) -> Option<()> {
    slot.replace(v).is_none().then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(text: &str) -> bool {
        let Some(mut s) = Scan::new(text) else {
            return false;
        };
        s.value().is_some() && s.end().is_some()
    }

    #[test]
    fn accepts_what_json_allows_and_nothing_else() {
        for ok in [
            r#"{"a":[1,-0.5e+3,0,true,false,null,"x\"\\\/\b\f\n\r\tä\u00e4"],"b":{}}"#,
            " [ ] ",
            "-0",
            "1E5",
            r#"{"\u0061":1}"#,
        ] {
            assert!(valid(ok), "{ok}");
            assert!(
                serde_json::from_str::<serde_json::Value>(ok).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "[1 2]",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a\u{1}b\"",
            "\"open",
            "{",
            "]",
            "",
            "1 2",
            "NaN",
        ] {
            assert!(!valid(bad), "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn eight_bytes_at_a_time_find_what_one_at_a_time_finds() {
        let mut rng = crate::sim::synth::SplitMix64::new(3);
        const BYTES: &[u8] = b"\"\\\x00\x1f\x20\x21a\x7f\x80\xff\x5b\x5d\x22";
        for _ in 0..100_000 {
            let mut chunk = [0u8; 8];
            for b in &mut chunk {
                *b = BYTES[rng.below(BYTES.len())];
            }
            let naive = chunk
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            assert_eq!(string_stop(u64::from_le_bytes(chunk)), naive, "{chunk:?}");
        }
    }

    #[test]
    fn nesting_deeper_than_the_bound_is_left_to_serde_json() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(valid(&ok));
        assert!(!valid(&deep));
    }
}

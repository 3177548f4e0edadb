//! A device report (`DEVICE_CHANGED` / `DEVICE_ADDED`) kept as the cloud's text with the
//! places of its fields, and applied to the model field by field.
//!
//! A report is a whole device (3–6 KB of JSON) of which nearly always one or two values
//! changed. Parsing it into a [`Device`] (every field a `serde_json::Value` with its key)
//! and dropping the old one was most of the event path's cost. So a report is read once
//! into spans (where each key and value lies in the text, no value parsed), and
//! [`DeviceReport::apply_to`] compares each field's text with the stored device's value:
//! only a field that differs is parsed, and it replaces the stored value in place. A
//! report that would change the device's objects (another type, label, channel set or a
//! field of another JSON kind) is parsed whole ([`DeviceReport::into_device`]), as before.
//!
//! A report whose text the spans cannot describe exactly (a key with an escape, a typed
//! field of the wrong type, a value nested deeper than the model's parser allows) is
//! parsed into a [`Device`] at once, strictly or leniently as every event is: what is
//! accepted, refused and repaired stays what the model's own parser decides.

use std::fmt;
use std::io;

use serde_json::Value;

use super::model::Device;

/// Byte range `[start, end)` in a report's text.
type Span = (u32, u32);

/// Which part of the device a field belongs to.
const DEVICE_LEVEL: u32 = u32::MAX;

/// Deeper nesting inside one field than this is left to the model's parser (serde_json
/// refuses a document nested deeper than 128; a channel field sits 4 levels down).
const MAX_FIELD_DEPTH: usize = 100;

/// One `DEVICE_CHANGED` or `DEVICE_ADDED` report.
#[derive(Clone, PartialEq)]
pub struct DeviceReport {
    /// The device id.
    pub id: String,
    repr: Repr,
}

#[derive(Clone, PartialEq)]
enum Repr {
    /// The device's JSON text and where its fields are.
    Text { text: Box<str>, spans: Spans },
    /// Parsed already (the text did not fit the spans, or it needed repairs).
    Parsed(Box<Device>),
}

/// The places of a device's fields in its text. Strings (keys, type, label) are plain:
/// without escapes, so a span's text is the string itself.
#[derive(Clone, PartialEq, Default)]
struct Spans {
    device_type: Option<Span>,
    /// None when absent or null.
    label: Option<Span>,
    /// Every untyped field of the device and its channels, in the text's order.
    fields: Vec<FieldSpan>,
    /// The channels in the text's order.
    channels: Vec<ChannelSpan>,
}

#[derive(Clone, Copy, PartialEq)]
struct FieldSpan {
    /// The index of its channel in `channels`, or [`DEVICE_LEVEL`].
    owner: u32,
    key: Span,
    value: Span,
}

#[derive(Clone, PartialEq)]
struct ChannelSpan {
    key: Span,
    channel_type: Option<Span>,
    /// How many fields of `Spans::fields` it owns.
    fields: u32,
}

/// One field a report changed: applied to the model by [`DeviceReport::apply_to`].
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange<'r> {
    /// The channel's key, or None for a device-level field.
    pub channel: Option<&'r str>,
    /// The field's name.
    pub field: &'r str,
}

/// What [`DeviceReport::apply_to`] did.
#[derive(Debug, PartialEq)]
pub enum Applied<'r> {
    /// The stored device now equals the report; these fields changed (in the report's
    /// order, device-level fields first).
    Fields(Vec<FieldChange<'r>>),
    /// The report changes the device's objects (or cannot be compared field by field):
    /// nothing was changed; parse it whole with [`DeviceReport::into_device`].
    Reshaped,
}

impl fmt::Debug for DeviceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Text { text, .. } => f
                .debug_struct("DeviceReport")
                .field("id", &self.id)
                .field("text", &text)
                .finish(),
            Repr::Parsed(d) => f.debug_tuple("DeviceReport").field(d).finish(),
        }
    }
}

impl DeviceReport {
    /// Read a device's JSON text into spans; None when the spans cannot describe it
    /// exactly (then the model's parser decides).
    pub fn from_text(text: &str) -> Option<DeviceReport> {
        let (id, spans) = Scan::new(text).device()?;
        Some(DeviceReport {
            id: text[id.0 as usize..id.1 as usize].to_string(),
            repr: Repr::Text {
                text: text.into(),
                spans,
            },
        })
    }

    /// A report of a device parsed already.
    pub fn parsed(d: Device) -> DeviceReport {
        DeviceReport {
            id: d.id.clone(),
            repr: Repr::Parsed(Box::new(d)),
        }
    }

    /// The whole device, parsed.
    pub fn into_device(self) -> Result<Device, String> {
        match self.repr {
            Repr::Text { text, .. } => serde_json::from_str(&text).map_err(|e| e.to_string()),
            Repr::Parsed(d) => Ok(*d),
        }
    }

    /// Apply the report to `stored`, the model's version of the same device, field by
    /// field: a field whose text equals the stored value is left alone, one that differs
    /// is parsed and replaces it. When the report would change the device's objects (see
    /// `tree::same_objects`), `stored` is left as it is and the answer is
    /// [`Applied::Reshaped`].
    ///
    /// A report without channels (the HCU sends some) says nothing about them: they stay.
    pub fn apply_to<'r>(&'r self, stored: &mut Device) -> Applied<'r> {
        let Repr::Text { text, spans } = &self.repr else {
            return Applied::Reshaped;
        };
        match spans.diff(text, stored) {
            Some(changes) => {
                let mut out = Vec::with_capacity(changes.len());
                for (channel, field, value) in changes {
                    let fields = match channel {
                        None => &mut stored.fields,
                        Some(k) => match stored.channels.get_mut(k) {
                            Some(ch) => &mut ch.fields,
                            None => continue, // checked by diff
                        },
                    };
                    if let Some(v) = fields.get_mut(field) {
                        *v = value;
                    }
                    out.push(FieldChange { channel, field });
                }
                Applied::Fields(out)
            }
            None => Applied::Reshaped,
        }
    }
}

impl Spans {
    /// The fields of `text` that differ from `stored`, parsed; None when the objects
    /// would differ.
    fn diff<'t>(
        &self,
        text: &'t str,
        stored: &Device,
    ) -> Option<Vec<(Option<&'t str>, &'t str, Value)>> {
        let at = |s: Span| &text[s.0 as usize..s.1 as usize];
        if self.device_type.map_or("", at) != stored.device_type
            || self.label.map(at) != stored.label.as_deref()
        {
            return None;
        }
        let mut changes = Vec::new();
        // Device-level fields: the same keys in the same order, values of the same kinds.
        let device_fields = self.fields.iter().filter(|f| f.owner == DEVICE_LEVEL);
        let mut stored_fields = stored.fields.iter();
        for f in device_fields {
            let (k, v) = stored_fields.next()?;
            if at(f.key) != k {
                return None;
            }
            if let Some(new) = differs(at(f.value), v)? {
                changes.push((None, at(f.key), new));
            }
        }
        if stored_fields.next().is_some() {
            return None;
        }
        if self.channels.is_empty() {
            return Some(changes);
        }
        if self.channels.len() != stored.channels.len() {
            return None;
        }
        let mut channel_fields = self.fields.iter().filter(|f| f.owner != DEVICE_LEVEL);
        for (c, (key, ch)) in self.channels.iter().zip(&stored.channels) {
            if at(c.key) != key || c.channel_type.map_or("", at) != ch.channel_type {
                return None;
            }
            if c.fields as usize != ch.fields.len() {
                return None;
            }
            for (k, v) in &ch.fields {
                let f = channel_fields.next()?;
                if at(f.key) != k {
                    return None;
                }
                if let Some(new) = differs(at(f.value), v)? {
                    // A channel's label and groups are part of its objects.
                    if k == "label" || k == "groups" {
                        return None;
                    }
                    changes.push((Some(at(c.key)), at(f.key), new));
                }
            }
        }
        Some(changes)
    }
}

/// Compare a field's JSON text with a stored value: Some(None) when equal, Some(new
/// value) when it differs with the same JSON kind, None when the kind differs (or the
/// text cannot be read, which the spans rule out).
fn differs(raw: &str, stored: &Value) -> Option<Option<Value>> {
    if raw_kind(raw) != Some(crate::tree::json_kind(stored)) {
        return None;
    }
    // The common case: the stored value's text is the very same.
    if serialises_to(stored, raw) {
        return Some(None);
    }
    let new: Value = serde_json::from_str(raw).ok()?;
    Some((new != *stored).then_some(new))
}

/// The JSON kind of a value's text, as `tree::json_kind` numbers them.
fn raw_kind(raw: &str) -> Option<u8> {
    Some(match raw.as_bytes().first()? {
        b'n' => 0,
        b't' | b'f' => 1,
        b'-' | b'0'..=b'9' => 2,
        b'"' => 3,
        b'[' => 4,
        b'{' => 5,
        _ => return None,
    })
}

/// Whether `v` serialised compactly (as serde_json writes it) is exactly `text`, without
/// building the string: walked value by value, strings without characters to escape
/// compared as they are, numbers and escaped strings through serde_json's own writer.
fn serialises_to(v: &Value, text: &str) -> bool {
    let mut rest = text.as_bytes();
    writes_as(v, &mut rest) && rest.is_empty()
}

/// Whether `v` written compactly is the start of `t`; `t` then starts after it.
fn writes_as(v: &Value, t: &mut &[u8]) -> bool {
    match v {
        Value::Null => take(t, b"null"),
        Value::Bool(true) => take(t, b"true"),
        Value::Bool(false) => take(t, b"false"),
        Value::Number(n) => written_by_serde(n, t),
        Value::String(s) => string_writes_as(s, t),
        Value::Array(items) => {
            take(t, b"[")
                && items
                    .iter()
                    .enumerate()
                    .all(|(i, x)| (i == 0 || take(t, b",")) && writes_as(x, t))
                && take(t, b"]")
        }
        Value::Object(map) => {
            take(t, b"{")
                && map.iter().enumerate().all(|(i, (k, x))| {
                    (i == 0 || take(t, b","))
                        && string_writes_as(k, t)
                        && take(t, b":")
                        && writes_as(x, t)
                })
                && take(t, b"}")
        }
    }
}

fn string_writes_as(s: &str, t: &mut &[u8]) -> bool {
    // serde_json escapes the control characters, `"` and `\`. A string with `"` or `\`
    // goes through serde_json; one with a control character cannot equal the text as it
    // is (valid JSON text holds none unescaped), so comparing it as it is can only say
    // "differs", and the caller then compares the parsed value.
    if memchr::memchr2(b'"', b'\\', s.as_bytes()).is_some() {
        return written_by_serde(s, t);
    }
    take(t, b"\"") && take(t, s.as_bytes()) && take(t, b"\"")
}

fn take(t: &mut &[u8], prefix: &[u8]) -> bool {
    match t.strip_prefix(prefix) {
        Some(rest) => {
            *t = rest;
            true
        }
        None => false,
    }
}

/// Whether serde_json writes `v` as the start of `t`; `t` then starts after it.
fn written_by_serde<T: serde::Serialize + ?Sized>(v: &T, t: &mut &[u8]) -> bool {
    struct Compare<'t>(&'t [u8]);
    impl io::Write for Compare<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match self.0.strip_prefix(buf) {
                Some(rest) => {
                    self.0 = rest;
                    Ok(buf.len())
                }
                None => Err(io::ErrorKind::InvalidData.into()),
            }
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut c = Compare(t);
    let same = serde_json::to_writer(&mut c, v).is_ok();
    *t = c.0;
    same
}

// Reading the spans: a device object, its `functionalChannels` map and each channel
// object, every other value taken as text. Anything the spans cannot describe (an escaped
// key, a typed field of another type, a duplicate typed key, a value nested too deep)
// gives None: the caller falls back to the model's parser, so these rules never decide
// what is accepted.

/// A cursor over a device's text that finds where things are without validating them:
/// the text is valid JSON already (serde_json read the message it came from as raw
/// values, which checks its syntax, strings and numbers), so reading it a second time
/// with a full parser only to locate its fields was most of an event's cost. On text
/// that is not valid JSON it returns None or spans that the comparison then refuses;
/// it never reads outside the text.
struct Scan<'t> {
    b: &'t [u8],
    i: usize,
}

impl<'t> Scan<'t> {
    fn new(text: &'t str) -> Scan<'t> {
        Scan {
            b: text.as_bytes(),
            i: 0,
        }
    }

    /// The device: its id's span and the spans of everything else; the text must hold
    /// this one object and nothing after it.
    fn device(mut self) -> Option<(Span, Spans)> {
        // A device's text holds a field every 40 to 60 bytes: sized once, not grown.
        let mut spans = Spans {
            fields: Vec::with_capacity(self.b.len() / 40),
            channels: Vec::with_capacity(8),
            ..Spans::default()
        };
        let (mut id, mut label_seen, mut channels_seen) = (None, false, false);
        self.object(|s, key| match s.text(key) {
            b"functionalChannels" => {
                if std::mem::replace(&mut channels_seen, true) {
                    return None;
                }
                s.channels(&mut spans)
            }
            b"id" => set_once(&mut id, s.plain_string()?),
            b"type" => set_once(&mut spans.device_type, s.plain_string()?),
            b"label" => {
                if std::mem::replace(&mut label_seen, true) {
                    return None;
                }
                spans.label = s.plain_string_or_null()?;
                Some(())
            }
            _ => {
                let value = s.field_value()?;
                spans.fields.push(FieldSpan {
                    owner: DEVICE_LEVEL,
                    key,
                    value,
                });
                Some(())
            }
        })?;
        self.ws();
        (self.i == self.b.len()).then_some(())?;
        Some((id?, spans))
    }

    fn channels(&mut self, spans: &mut Spans) -> Option<()> {
        self.object(|s, key| {
            let owner = spans.channels.len() as u32;
            let before = spans.fields.len();
            let mut channel_type = None;
            s.object(|s, field| {
                if s.text(field) == b"functionalChannelType" {
                    set_once(&mut channel_type, s.plain_string()?)
                } else {
                    let value = s.field_value()?;
                    spans.fields.push(FieldSpan {
                        owner,
                        key: field,
                        value,
                    });
                    Some(())
                }
            })?;
            let fields = (spans.fields.len() - before) as u32;
            spans.channels.push(ChannelSpan {
                key,
                channel_type,
                fields,
            });
            Some(())
        })
    }

    fn text(&self, s: Span) -> &'t [u8] {
        &self.b[s.0 as usize..s.1 as usize]
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// An object at the cursor: `member` is called with each key's span (inside the
    /// quotes; a key with an escape is refused) and reads the value after it.
    fn object(&mut self, mut member: impl FnMut(&mut Self, Span) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let (key, escaped) = self.string()?;
            if escaped {
                return None;
            }
            self.eat(b':')?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string at the cursor: the span of its contents and whether it holds an escape.
    fn string(&mut self) -> Option<(Span, bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            let at = self.i + memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            if self.b[at] == b'"' {
                self.i = at + 1;
                return Some(((start as u32, at as u32), escaped));
            }
            escaped = true;
            self.i = at + 2;
        }
    }

    /// A string without escapes (a type, an id, a label): the span of its contents.
    fn plain_string(&mut self) -> Option<Span> {
        match self.string()? {
            (s, false) => Some(s),
            _ => None,
        }
    }

    /// A plain string, or `null` (None inside).
    fn plain_string_or_null(&mut self) -> Option<Option<Span>> {
        if self.peek()? == b'n' {
            let (span, _) = self.value()?;
            return (self.text(span) == b"null").then_some(None);
        }
        self.plain_string().map(Some)
    }

    /// Any other field's value: its span, unless nested deeper than the model's parser
    /// allows.
    fn field_value(&mut self) -> Option<Span> {
        let (span, depth) = self.value()?;
        (depth <= MAX_FIELD_DEPTH).then_some(span)
    }

    /// Any value at the cursor: its span and how deep arrays and objects nest in it.
    fn value(&mut self) -> Option<(Span, usize)> {
        let start = {
            self.ws();
            self.i
        };
        let mut max = 0;
        match *self.b.get(self.i)? {
            b'"' => {
                self.string()?;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match *self.b.get(self.i)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => {
                            depth += 1;
                            max = max.max(depth);
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                // A number or a literal: up to the next delimiter.
                while !matches!(
                    self.b.get(self.i),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                ) {
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
            }
        }
        Some(((start as u32, self.i as u32), max))
    }
}

fn set_once(slot: &mut Option<Span>, v: Span) -> Option<()> {
    slot.replace(v).is_none().then_some(())
}

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

use super::fields;
use super::model::Device;
use super::scan::{set_once, Scan, Span};
use crate::compact::Val;

/// Which part of the device a field belongs to.
const DEVICE_LEVEL: u32 = u32::MAX;

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
        let mut s = Scan::new(text)?;
        let report = DeviceReport::read(&mut s)?;
        s.end()?;
        Some(report)
    }

    /// Read the device object at the cursor into spans (checking its syntax) and keep its
    /// text: a message's events are read this way in the same pass as the message.
    pub(crate) fn read(s: &mut Scan<'_>) -> Option<DeviceReport> {
        s.peek()?;
        let start = s.pos();
        let (id, mut spans) = device_spans(s)?;
        let text = s.str((start, s.pos()));
        spans.shift(start);
        Some(DeviceReport {
            id: s.str(id).to_string(),
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
    /// Count every span from `start` instead of from the start of the text.
    fn shift(&mut self, start: u32) {
        let shift = |s: &mut Span| *s = (s.0 - start, s.1 - start);
        self.device_type
            .iter_mut()
            .chain(&mut self.label)
            .for_each(shift);
        for f in &mut self.fields {
            shift(&mut f.key);
            shift(&mut f.value);
        }
        for c in &mut self.channels {
            shift(&mut c.key);
            c.channel_type.iter_mut().for_each(shift);
        }
    }

    /// The fields of `text` that differ from `stored`, parsed; None when the objects
    /// would differ.
    fn diff<'t>(
        &self,
        text: &'t str,
        stored: &Device,
    ) -> Option<Vec<(Option<&'t str>, &'t str, Val)>> {
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
fn differs(raw: &str, stored: &Val) -> Option<Option<Val>> {
    if raw_kind(raw) != Some(stored.kind()) {
        return None;
    }
    // The common case: the stored value's text is the very same.
    if serialises_to(stored, raw) {
        return Some(None);
    }
    let new: Value = serde_json::from_str(raw).ok()?;
    Some((*stored != new).then(|| fields::compact(&new)))
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
/// building the string: strings without characters to escape compared as they are,
/// numbers and escaped strings through serde_json's own writer, arrays and objects as the
/// compact text they are kept as.
fn serialises_to(v: &Val, text: &str) -> bool {
    let t = &mut text.as_bytes();
    let same = match v {
        Val::Null => take(t, b"null"),
        Val::Bool(true) => take(t, b"true"),
        Val::Bool(false) => take(t, b"false"),
        Val::Int(i) => written_by_serde(i, t),
        Val::Float(f) => written_by_serde(f, t),
        Val::Str(s) => string_writes_as(s, t),
        Val::Json(raw) => take(t, raw.get().as_bytes()),
    };
    same && t.is_empty()
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
// object, every other value checked and taken as text. Anything the spans cannot describe
// (an escaped key, a typed field of another type, a duplicate typed key, a value nested
// too deep) gives None: the caller falls back to the model's parser, so these rules never
// decide what is accepted.

/// The device object at the cursor: its id's span and the spans of everything else, all
/// counted from the start of the cursor's text.
fn device_spans(s: &mut Scan<'_>) -> Option<(Span, Spans)> {
    // A device holds 20 to 150 fields.
    let mut spans = Spans {
        fields: Vec::with_capacity(96),
        channels: Vec::with_capacity(8),
        ..Spans::default()
    };
    let (mut id, mut label_seen, mut channels_seen) = (None, false, false);
    s.object(|s, key| match s.text(key) {
        b"functionalChannels" => {
            if std::mem::replace(&mut channels_seen, true) {
                return None;
            }
            channel_spans(s, &mut spans)
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
            let value = s.value()?;
            spans.fields.push(FieldSpan {
                owner: DEVICE_LEVEL,
                key,
                value,
            });
            Some(())
        }
    })?;
    Some((id?, spans))
}

fn channel_spans(s: &mut Scan<'_>, spans: &mut Spans) -> Option<()> {
    s.object(|s, key| {
        let owner = spans.channels.len() as u32;
        let before = spans.fields.len();
        let mut channel_type = None;
        s.object(|s, field| {
            if s.text(field) == b"functionalChannelType" {
                set_once(&mut channel_type, s.plain_string()?)
            } else {
                let value = s.value()?;
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

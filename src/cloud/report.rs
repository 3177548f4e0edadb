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

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
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
        let mut spans = Spans::default();
        let mut de = serde_json::Deserializer::from_str(text);
        let id = DeviceSeed {
            base: text.as_ptr() as usize,
            spans: &mut spans,
        }
        .deserialize(&mut de)
        .ok()??;
        de.end().ok()?;
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
    // The common case: the stored value serialises to the very same text.
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

/// Whether `v` serialised compactly is exactly `text`, without building the string.
fn serialises_to(v: &Value, text: &str) -> bool {
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
    let mut c = Compare(text.as_bytes());
    serde_json::to_writer(&mut c, v).is_ok() && c.0.is_empty()
}

/// How deep arrays and objects nest in a value's text (strings skipped).
fn depth(raw: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in raw.as_bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

// Reading the spans: a device object, its `functionalChannels` map and each channel
// object, every other value taken as raw text. Any error (an escaped key, a typed field
// of another type, a duplicate typed key) means "not describable": the caller falls back
// to the model's parser, so these rules never decide what is accepted.

fn span_of(base: usize, s: &str) -> Span {
    let start = s.as_ptr() as usize - base;
    (start as u32, (start + s.len()) as u32)
}

/// A plain JSON string's contents (its text without the quotes), or an error.
fn plain_string<E: de::Error>(raw: &RawValue) -> Result<&str, E> {
    let t = raw.get();
    match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(s) if !s.contains('\\') && !s.contains('"') => Ok(s),
        _ => Err(E::custom("not a plain string")),
    }
}

fn set_once<E: de::Error>(slot: &mut Option<Span>, v: Span) -> Result<(), E> {
    match slot.replace(v) {
        None => Ok(()),
        Some(_) => Err(E::custom("duplicate key")),
    }
}

/// A value's span, if it is not nested too deep for the model's parser.
fn value_span<E: de::Error>(base: usize, raw: &RawValue) -> Result<Span, E> {
    let t = raw.get();
    if matches!(t.as_bytes().first(), Some(b'[' | b'{')) && depth(t) > MAX_FIELD_DEPTH {
        return Err(E::custom("nested too deep"));
    }
    Ok(span_of(base, t))
}

struct DeviceSeed<'s> {
    base: usize,
    spans: &'s mut Spans,
}

impl<'de> DeserializeSeed<'de> for DeviceSeed<'_> {
    /// The span of the device id (None: there is none).
    type Value = Option<Span>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DeviceSeed<'_> {
    type Value = Option<Span>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a device")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let base = self.base;
        let (mut id, mut label, mut channels_seen) = (None, None, false);
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "functionalChannels" => {
                    if std::mem::replace(&mut channels_seen, true) {
                        return Err(de::Error::custom("duplicate key"));
                    }
                    map.next_value_seed(ChannelsSeed {
                        base,
                        spans: &mut *self.spans,
                    })?;
                }
                _ => {
                    let raw: &'de RawValue = map.next_value()?;
                    match key {
                        "id" => set_once(&mut id, span_of(base, plain_string(raw)?))?,
                        "type" => set_once(
                            &mut self.spans.device_type,
                            span_of(base, plain_string(raw)?),
                        )?,
                        "label" => {
                            if label.replace(()).is_some() {
                                return Err(de::Error::custom("duplicate key"));
                            }
                            if raw.get() != "null" {
                                self.spans.label = Some(span_of(base, plain_string(raw)?));
                            }
                        }
                        _ => self.spans.fields.push(FieldSpan {
                            owner: DEVICE_LEVEL,
                            key: span_of(base, key),
                            value: value_span(base, raw)?,
                        }),
                    }
                }
            }
        }
        Ok(id)
    }
}

struct ChannelsSeed<'s> {
    base: usize,
    spans: &'s mut Spans,
}

impl<'de> DeserializeSeed<'de> for ChannelsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChannelsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of functional channels")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<&'de str>()? {
            let owner = self.spans.channels.len() as u32;
            let before = self.spans.fields.len();
            let channel_type = map.next_value_seed(ChannelSeed {
                base: self.base,
                owner,
                spans: &mut *self.spans,
            })?;
            let fields = (self.spans.fields.len() - before) as u32;
            self.spans.channels.push(ChannelSpan {
                key: span_of(self.base, key),
                channel_type,
                fields,
            });
        }
        Ok(())
    }
}

struct ChannelSeed<'s> {
    base: usize,
    owner: u32,
    spans: &'s mut Spans,
}

impl<'de> DeserializeSeed<'de> for ChannelSeed<'_> {
    /// The span of its `functionalChannelType`.
    type Value = Option<Span>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Span>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChannelSeed<'_> {
    type Value = Option<Span>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a functional channel")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Span>, A::Error> {
        let mut channel_type = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            let raw: &'de RawValue = map.next_value()?;
            if key == "functionalChannelType" {
                set_once(&mut channel_type, span_of(self.base, plain_string(raw)?))?;
            } else {
                self.spans.fields.push(FieldSpan {
                    owner: self.owner,
                    key: span_of(self.base, key),
                    value: value_span(self.base, raw)?,
                });
            }
        }
        Ok(channel_type)
    }
}

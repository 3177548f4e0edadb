//! Websocket push messages parsed into typed events.
//!
//! A message is `{"events": {"0": {...}, "1": {...}}}`; each event names its
//! `pushEventType`. Unknown types are kept raw, and one malformed event does not spoil the
//! others in its message.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::model::{Client, Device, Group, Home};
use super::report::DeviceReport;
use super::scan::{set_once, Scan};

/// A button press, door bell or similar event of a channel (`DEVICE_CHANNEL_EVENT`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelEvent {
    /// The device id.
    pub device_id: String,
    /// The functional channel index the event belongs to.
    pub channel_index: u32,
    /// e.g. `KEY_PRESS_SHORT`, `KEY_PRESS_LONG`, `DOOR_BELL_SENSOR_EVENT`.
    pub event_type: String,
}

/// One pushed event.
#[derive(Debug, Clone, PartialEq)]
pub enum PushEvent {
    /// `DEVICE_ADDED` or `DEVICE_CHANGED`: the full device, kept as its text and applied
    /// to the model field by field ([`DeviceReport`]).
    DeviceChanged(Box<DeviceReport>),
    /// `DEVICE_REMOVED`.
    DeviceRemoved(String),
    /// `GROUP_ADDED` or `GROUP_CHANGED`: the full group.
    GroupChanged(Box<Group>),
    /// `GROUP_REMOVED`.
    GroupRemoved(String),
    /// `CLIENT_ADDED` or `CLIENT_CHANGED`.
    ClientChanged(Box<Client>),
    /// `CLIENT_REMOVED`.
    ClientRemoved(String),
    /// `HOME_CHANGED`: the home only.
    HomeChanged(Box<Home>),
    /// `SECURITY_JOURNAL_CHANGED` (no data).
    SecurityJournalChanged,
    /// `DEVICE_CHANNEL_EVENT`: button presses and door bells.
    ChannelEvent(ChannelEvent),
    /// `DEVICE_CODE_STATE_EVENT`: a key pad code.
    CodeStateEvent {
        /// The device id.
        device_id: String,
        /// Which code slot.
        code_index: i64,
        /// The code state as the cloud names it.
        code_state: String,
    },
    /// A `pushEventType` this program does not know, kept raw.
    Unknown(Value),
}

/// Why a websocket message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventParseError {
    /// Not UTF-8 JSON.
    #[error("websocket message is not JSON: {0}")]
    NotJson(String),
    /// JSON, but no `events` map.
    #[error("websocket message has no \"events\" map")]
    NoEvents,
}

/// Parse one websocket message (text or binary frame payload).
///
/// Returns the events it could read and, for each event that was malformed, a short reason.
pub fn parse_message(payload: &[u8]) -> Result<(Vec<PushEvent>, Vec<String>), EventParseError> {
    // Nearly every message is device reports only: read in one pass that checks the
    // syntax as it locates the events and the devices' fields. Anything else (other event
    // types, a shape that pass is not sure of, text that is not JSON) goes the general way,
    // which decides what is accepted; both give the same answer (`tests/report.rs`).
    match device_reports(payload) {
        Some(events) => Ok((events, Vec::new())),
        None => parse_message_in_general(payload),
    }
}

/// [`parse_message`] the general way: serde_json reads the message into its events as raw
/// text, and each is read by its type. Public so that tests and the fuzz target can check
/// that the one-pass way gives the same answer.
#[doc(hidden)]
pub fn parse_message_in_general(
    payload: &[u8],
) -> Result<(Vec<PushEvent>, Vec<String>), EventParseError> {
    #[derive(Deserialize)]
    struct Message<'a> {
        #[serde(borrow)]
        events: Option<EventMap<'a>>,
    }
    let msg: Message<'_> =
        serde_json::from_slice(payload).map_err(|e| EventParseError::NotJson(e.to_string()))?;
    match msg.events {
        Some(EventMap(Some(events))) => Ok(parse_event_list(events)),
        _ => Err(EventParseError::NoEvents),
    }
}

/// Whether [`parse_message`] reads `payload` in one pass (for tests and benchmarks: the
/// common message must not fall back to the general way unnoticed).
#[doc(hidden)]
pub fn read_in_one_pass(payload: &[u8]) -> bool {
    device_reports(payload).is_some()
}

/// A message whose events are all `DEVICE_CHANGED` / `DEVICE_ADDED` reports, read in one
/// pass ([`Scan`] checks the syntax on the way); None for anything else, or anything it is
/// not sure of (an escaped key, a duplicate, deep nesting, a device the spans cannot
/// describe), which the general way then reads.
fn device_reports(payload: &[u8]) -> Option<Vec<PushEvent>> {
    let mut s = Scan::new(std::str::from_utf8(payload).ok()?)?;
    let mut events = None;
    s.object(|s, key| {
        if s.text(key) != b"events" {
            return s.value().map(drop);
        }
        if events.is_some() {
            return None; // a duplicate field: serde_json's error
        }
        let mut list = Vec::new();
        s.object(|s, key| {
            let order = s.str(key).parse::<u64>();
            list.push((order.unwrap_or(u64::MAX), device_event(s)?));
            Some(())
        })?;
        events = Some(list);
        Some(())
    })?;
    s.end()?;
    let mut list = events?;
    // Events arrive keyed "0", "1", ...; keep their numeric order, as the general way does.
    list.sort_by_key(|(order, _)| *order);
    Some(
        list.into_iter()
            .map(|(_, r)| PushEvent::DeviceChanged(Box::new(r)))
            .collect(),
    )
}

/// One event at the cursor, if it is a device report the spans can describe.
fn device_event(s: &mut Scan<'_>) -> Option<DeviceReport> {
    let (mut kind, mut device) = (None, None);
    s.object(|s, key| match s.text(key) {
        b"pushEventType" => set_once(&mut kind, s.plain_string()?),
        // Read in place, in the message's own pass.
        b"device" => match device {
            None => {
                device = Some(DeviceReport::read(s)?);
                Some(())
            }
            Some(_) => None,
        },
        _ => s.value().map(drop),
    })?;
    if !matches!(s.text(kind?), b"DEVICE_CHANGED" | b"DEVICE_ADDED") {
        return None;
    }
    device
}

/// Parse an `events` map (`{"0": {...}, "1": {...}}`) as the cloud's websocket message and
/// the HCU's event transaction carry it.
///
/// Returns the events it could read and, for each event that was malformed, a short reason.
pub fn parse_events(events: &RawValue) -> Result<(Vec<PushEvent>, Vec<String>), EventParseError> {
    match serde_json::from_str(events.get()) {
        Ok(EventMap(Some(events))) => Ok(parse_event_list(events)),
        _ => Err(EventParseError::NoEvents),
    }
}

fn parse_event_list(mut keyed: Vec<(String, &RawValue)>) -> (Vec<PushEvent>, Vec<String>) {
    // Events arrive keyed "0", "1", ...; keep their numeric order.
    keyed.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(u64::MAX));
    let mut out = Vec::with_capacity(keyed.len());
    let mut bad = Vec::new();
    for (key, ev) in keyed {
        match parse_raw_event(ev) {
            Ok(e) => out.push(e),
            Err(reason) => bad.push(format!("event {key}: {reason}")),
        }
    }
    (out, bad)
}

/// The `events` member of a message: its events as raw text in the message's order, or
/// None when it is not a map (an array, a number…), which the caller reports.
struct EventMap<'a>(Option<Vec<(String, &'a RawValue)>>);

impl<'de: 'a, 'a> Deserialize<'de> for EventMap<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct Events<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Events<'a> {
            type Value = EventMap<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of events")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(EventMap(Some(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EventMap(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(EventMap(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(EventMap(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(EventMap(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(EventMap(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(EventMap(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(EventMap(None))
            }
        }
        d.deserialize_any(Events(std::marker::PhantomData))
    }
}

/// The device's text of an event in the cloud's own shape,
/// `{"pushEventType":"DEVICE_CHANGED","device":{…}}` (whitespace allowed), found without
/// reading the event first; None for any other shape, which is read in full.
/// [`DeviceReport::from_text`] checks that what follows `"device":` is one whole object.
fn device_text(raw: &str) -> Option<&str> {
    fn token<'t>(s: &'t str, t: &str) -> Option<&'t str> {
        s.trim_start().strip_prefix(t)
    }
    let rest = token(raw, "{")?;
    let rest = token(token(rest, "\"pushEventType\"")?, ":")?;
    let rest = token(rest, "\"DEVICE_CHANGED\"").or_else(|| token(rest, "\"DEVICE_ADDED\""))?;
    let rest = token(token(token(rest, ",")?, "\"device\"")?, ":")?.trim_start();
    let body = rest.trim_end().strip_suffix('}')?.trim_end();
    body.starts_with('{').then_some(body)
}

/// A device report straight into the model; any other event through a JSON tree.
fn parse_raw_event(raw: &RawValue) -> Result<PushEvent, String> {
    if let Some(r) = device_text(raw.get()).and_then(DeviceReport::from_text) {
        return Ok(PushEvent::DeviceChanged(Box::new(r)));
    }
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(rename = "pushEventType")]
        kind: Option<String>,
        #[serde(borrow)]
        device: Option<&'a RawValue>,
    }
    if let Ok(Head {
        kind: Some(kind),
        device: Some(device),
    }) = serde_json::from_str::<Head<'_>>(raw.get())
    {
        if kind == "DEVICE_CHANGED" || kind == "DEVICE_ADDED" {
            // The common case in any other order of keys: kept as text, its fields
            // located, none parsed yet.
            if let Some(r) = DeviceReport::from_text(device.get()) {
                return Ok(PushEvent::DeviceChanged(Box::new(r)));
            }
            // Text the spans cannot describe: a strict read; a device with a field of the
            // wrong type goes the lenient way below, which repairs and reports it.
            if let Ok(d) = serde_json::from_str::<Device>(device.get()) {
                return Ok(PushEvent::DeviceChanged(Box::new(DeviceReport::parsed(d))));
            }
        }
    }
    let ev: Value = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    parse_event(&ev)
}

/// The id of a removal event: `id`, or `device.id` / `group.id` / `client.id`.
fn removed_id(ev: &Value, inner: &str) -> Result<String, String> {
    ev.get("id")
        .or_else(|| ev.get(inner).and_then(|o| o.get("id")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("removal event without an id (neither \"id\" nor \"{inner}.id\")"))
}

fn typed<T: for<'de> Deserialize<'de>>(ev: &Value, key: &str) -> Result<Box<T>, String> {
    let v = ev
        .get(key)
        .ok_or_else(|| format!("no \"{key}\" in event"))?;
    // Leniently: a field of the wrong type is left out (and logged), not the whole event.
    let mut notes = Vec::new();
    let read = super::lenient::entity::<T>(key, v, &mut notes);
    super::lenient::log_once("websocket event", &notes);
    read.map(Box::new)
        .map_err(|e| format!("bad \"{key}\": {e}"))
}

fn parse_event(ev: &Value) -> Result<PushEvent, String> {
    let kind = ev
        .get("pushEventType")
        .and_then(Value::as_str)
        .ok_or("no pushEventType")?;
    Ok(match kind {
        "DEVICE_ADDED" | "DEVICE_CHANGED" => {
            PushEvent::DeviceChanged(Box::new(DeviceReport::parsed(*typed(ev, "device")?)))
        }
        "DEVICE_REMOVED" => PushEvent::DeviceRemoved(removed_id(ev, "device")?),
        "GROUP_ADDED" | "GROUP_CHANGED" => PushEvent::GroupChanged(typed(ev, "group")?),
        "GROUP_REMOVED" => PushEvent::GroupRemoved(removed_id(ev, "group")?),
        "CLIENT_ADDED" | "CLIENT_CHANGED" => PushEvent::ClientChanged(typed(ev, "client")?),
        "CLIENT_REMOVED" => PushEvent::ClientRemoved(removed_id(ev, "client")?),
        "HOME_CHANGED" => PushEvent::HomeChanged(typed(ev, "home")?),
        "SECURITY_JOURNAL_CHANGED" => PushEvent::SecurityJournalChanged,
        "DEVICE_CHANNEL_EVENT" => {
            let device_id = ev
                .get("deviceId")
                .and_then(Value::as_str)
                .ok_or("no deviceId")?
                .to_string();
            // Clients disagree on the name of the index; the functional channel index wins.
            let index = ev
                .get("functionalChannelIndex")
                .or_else(|| ev.get("channelIndex"))
                .and_then(Value::as_u64)
                .and_then(|i| u32::try_from(i).ok())
                .ok_or("no channel index")?;
            let event_type = ev
                .get("channelEventType")
                .and_then(Value::as_str)
                .ok_or("no channelEventType")?
                .to_string();
            PushEvent::ChannelEvent(ChannelEvent {
                device_id,
                channel_index: index,
                event_type,
            })
        }
        "DEVICE_CODE_STATE_EVENT" => PushEvent::CodeStateEvent {
            device_id: ev
                .get("deviceId")
                .and_then(Value::as_str)
                .ok_or("no deviceId")?
                .to_string(),
            code_index: ev.get("codeIndex").and_then(Value::as_i64).unwrap_or(0),
            code_state: ev
                .get("codeState")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        },
        _ => PushEvent::Unknown(ev.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_push_event_type() {
        let dev = json!({"id": "D", "type": "X", "functionalChannels": {}});
        let msg = json!({"events": {
            "0": {"pushEventType": "DEVICE_CHANGED", "device": dev},
            "1": {"pushEventType": "DEVICE_ADDED", "device": dev},
            "2": {"pushEventType": "DEVICE_REMOVED", "id": "D"},
            "3": {"pushEventType": "GROUP_REMOVED", "group": {"id": "G"}},
            "4": {"pushEventType": "GROUP_CHANGED", "group": {"id": "G", "type": "HEATING"}},
            "5": {"pushEventType": "CLIENT_REMOVED", "client": {"id": "C"}},
            "6": {"pushEventType": "CLIENT_ADDED", "client": {"id": "C", "label": "x"}},
            "7": {"pushEventType": "HOME_CHANGED", "home": {"id": "H", "connected": false}},
            "8": {"pushEventType": "SECURITY_JOURNAL_CHANGED"},
            "9": {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": "D", "channelIndex": 2, "functionalChannelIndex": 2, "channelEventType": "KEY_PRESS_SHORT"},
            "10": {"pushEventType": "DEVICE_CODE_STATE_EVENT", "deviceId": "D", "codeIndex": 1, "codeState": "VALID"},
            "11": {"pushEventType": "SOMETHING_NEW", "x": 1},
            "12": {"pushEventType": "DEVICE_CHANGED"}
        }});
        let (events, bad) = parse_message(msg.to_string().as_bytes()).unwrap();
        assert_eq!(events.len(), 12);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(matches!(&events[2], PushEvent::DeviceRemoved(id) if id == "D"));
        assert!(matches!(&events[3], PushEvent::GroupRemoved(id) if id == "G"));
        assert!(matches!(&events[5], PushEvent::ClientRemoved(id) if id == "C"));
        assert!(matches!(&events[7], PushEvent::HomeChanged(h) if h.connected() == Some(false)));
        assert!(
            matches!(&events[9], PushEvent::ChannelEvent(c) if c.channel_index == 2 && c.event_type == "KEY_PRESS_SHORT")
        );
        assert!(matches!(&events[11], PushEvent::Unknown(_)));
    }

    /// Regression (fuzz/corpus/event_parser/regression-channel-index-above-u32.json): an
    /// index above u32::MAX was truncated onto another channel (4294967297 -> 1).
    #[test]
    fn a_channel_index_beyond_u32_is_refused_not_truncated() {
        let msg = r#"{"events": {"0": {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": "D",
            "channelIndex": 4294967297, "channelEventType": "KEY_PRESS_SHORT"}}}"#;
        let (events, bad) = parse_message(msg.as_bytes()).unwrap();
        assert!(events.is_empty());
        assert_eq!(bad, ["event 0: no channel index"]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_message(b"{not json").is_err());
        assert!(parse_message(b"{\"x\":1}").is_err());
        assert!(parse_message(&[0xff, 0xfe]).is_err());
    }
}

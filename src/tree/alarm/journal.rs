//! The security journal, as ioBroker.hmip 3.x shows it: `readSecurityJournal` asks the cloud
//! (`home/security/getSecurityJournal`), and its answer `{"entries": [...]}` fills
//! `securityJournal` (the entries as JSON) and the newest entry's `eventTimestamp`,
//! `eventType` and `label`.

use serde_json::{json, Value};

use super::state_id;
use crate::cloud::{ControlCall, CurrentState};
use crate::tree::TreeValue;

/// The button that reads the journal.
pub const READ: &str = "readSecurityJournal";
/// The entries of the last read, as JSON.
pub const JOURNAL: &str = "securityJournal";
/// The newest entry's time (epoch ms).
pub const TIMESTAMP: &str = "securityJournalEventTimestamp";
/// The newest entry's type (`ACTIVATION_CHANGED`, `SENSOR_EVENT`, …).
pub const EVENT_TYPE: &str = "securityJournalEventType";
/// The newest entry's label.
pub const LABEL: &str = "securityJournalLabel";
/// The call that reads the journal (no body).
pub const PATH: &str = "home/security/getSecurityJournal";

/// The call `readSecurityJournal` sends.
pub fn call() -> ControlCall {
    ControlCall {
        path: PATH.into(),
        body: json!({}),
    }
}

/// The newest entry: the latest `eventTimestamp`, the first of equal ones (the cloud
/// documents no order, so position says nothing), as ioBroker.hmip 3.x picks it.
fn newest(entries: &[Value]) -> Option<&Value> {
    let ts = |e: &Value| e.get("eventTimestamp").and_then(Value::as_i64).unwrap_or(0);
    entries
        .iter()
        .fold(None, |best: Option<&Value>, e| match best {
            Some(b) if ts(b) >= ts(e) => Some(b),
            _ => Some(e),
        })
}

/// The four journal states from the answer of `call`; None for any other call, or an answer
/// without an `entries` list (nothing is shown then, as ioBroker.hmip does). A journal
/// without entries shows `[]` and nulls.
pub fn values(
    ns: &str,
    state: &CurrentState,
    call: &ControlCall,
    answer: &Value,
) -> Option<Vec<TreeValue>> {
    if call.path != PATH {
        return None;
    }
    let entries = answer.get("entries")?.as_array()?;
    let newest = newest(entries);
    let field = |f: &str| {
        newest
            .and_then(|e| e.get(f))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let value = |id: &str, val: Value| TreeValue {
        id: state_id(ns, state, id),
        val,
    };
    Some(vec![
        value(JOURNAL, json!(Value::Array(entries.clone()).to_string())),
        value(TIMESTAMP, field("eventTimestamp")),
        value(EVENT_TYPE, field("eventType")),
        value(LABEL, field("label")),
    ])
}

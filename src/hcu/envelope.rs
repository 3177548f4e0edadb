//! The Connect API's message envelope, `{"id", "pluginId", "type", "body"}`, in both
//! directions. A response carries the id of its request; unsolicited messages get a fresh
//! UUID.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// `PLUGIN_STATE_RESPONSE`: the plugin says it is ready (at start and when asked).
pub const PLUGIN_STATE_RESPONSE: &str = "PLUGIN_STATE_RESPONSE";
/// `PLUGIN_STATE_REQUEST`: the HCU asks for the plugin's state.
pub const PLUGIN_STATE_REQUEST: &str = "PLUGIN_STATE_REQUEST";
/// `HMIP_SYSTEM_REQUEST`: a read or control call with the cloud's path and body.
pub const HMIP_SYSTEM_REQUEST: &str = "HMIP_SYSTEM_REQUEST";
/// `HMIP_SYSTEM_RESPONSE`: its answer, `{"code", "body"}`.
pub const HMIP_SYSTEM_RESPONSE: &str = "HMIP_SYSTEM_RESPONSE";
/// `HMIP_SYSTEM_EVENT`: an event transaction with the cloud's push events.
pub const HMIP_SYSTEM_EVENT: &str = "HMIP_SYSTEM_EVENT";
/// `ERROR_RESPONSE`: the HCU could not read a message.
pub const ERROR_RESPONSE: &str = "ERROR_RESPONSE";

/// The path of the whole system state (the cloud's `getCurrentState`).
pub const SYSTEM_STATE_PATH: &str = "/hmip/home/getSystemState";

/// A fresh message id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One message as text, ready to send.
pub fn encode(id: &str, plugin_id: &str, kind: &str, body: Value) -> String {
    json!({"id": id, "pluginId": plugin_id, "type": kind, "body": body}).to_string()
}

/// `PLUGIN_STATE_RESPONSE` READY, answering `id`.
pub fn ready(id: &str, plugin_id: &str) -> String {
    encode(
        id,
        plugin_id,
        PLUGIN_STATE_RESPONSE,
        json!({"pluginReadinessStatus": "READY"}),
    )
}

/// `HMIP_SYSTEM_REQUEST` for a cloud path below `/hmip/` (`device/control/setSwitchState`).
pub fn system_request(id: &str, plugin_id: &str, path: &str, body: &Value) -> String {
    let path = format!("/hmip/{}", path.trim_start_matches('/'));
    encode(
        id,
        plugin_id,
        HMIP_SYSTEM_REQUEST,
        json!({"path": path, "body": body}),
    )
}

/// A received message, its body left unparsed until its type says what it is (a system
/// state is megabytes; it is parsed once, straight into the model).
#[derive(Debug, Deserialize)]
pub struct Incoming<'a> {
    /// The message id (a response's is its request's).
    #[serde(default)]
    pub id: Option<String>,
    /// The message type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The body, unparsed.
    #[serde(borrow, default)]
    pub body: Option<&'a RawValue>,
}

/// Read a message; None when it is not an envelope.
pub fn decode(text: &str) -> Result<Incoming<'_>, String> {
    serde_json::from_str(text).map_err(|e| format!("not a Connect API message: {e}"))
}

/// The body of an `HMIP_SYSTEM_RESPONSE`: a status code modelled on HTTP and the answer.
#[derive(Debug, Deserialize)]
pub struct SystemResponse<'a> {
    /// 200 when the call was accepted.
    pub code: u16,
    /// The answer (the system state, or `{"errorCode": …}` on an error).
    #[serde(borrow, default)]
    pub body: Option<&'a RawValue>,
}

/// The body of an `HMIP_SYSTEM_EVENT`.
#[derive(Debug, Deserialize)]
pub struct SystemEvent<'a> {
    /// The transaction with the events.
    #[serde(rename = "eventTransaction", borrow)]
    pub transaction: EventTransaction<'a>,
}

/// The events of one change, as the cloud's websocket message carries them.
#[derive(Debug, Deserialize)]
pub struct EventTransaction<'a> {
    /// `{"0": {...}, "1": {...}}`.
    #[serde(borrow)]
    pub events: &'a RawValue,
}

/// The body of an `ERROR_RESPONSE`, for the log; the id of the message it refers to, if any.
pub fn describe_error(body: Option<&RawValue>) -> (String, Option<String>) {
    let v: Value = body
        .and_then(|b| serde_json::from_str(b.get()).ok())
        .unwrap_or(Value::Null);
    let err = &v["error"];
    let text = match (err.get("code"), err.get("message").and_then(Value::as_str)) {
        (Some(code), Some(msg)) => format!("{} {msg}", code_text(code)),
        (Some(code), None) => code_text(code),
        (None, Some(msg)) => msg.to_string(),
        (None, None) => "no details".into(),
    };
    let original = v["originalMessage"]["id"].as_str().map(str::to_string);
    (text, original)
}

fn code_text(code: &Value) -> String {
    code.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_carries_the_cloud_path_below_hmip() {
        let m: Value = serde_json::from_str(&system_request(
            "1",
            "p",
            "device/control/setSwitchState",
            &json!({"on": true}),
        ))
        .unwrap();
        assert_eq!(m["type"], HMIP_SYSTEM_REQUEST);
        assert_eq!(m["body"]["path"], "/hmip/device/control/setSwitchState");
        assert_eq!(m["body"]["body"], json!({"on": true}));
        assert_eq!(m["pluginId"], "p");
    }

    #[test]
    fn an_error_response_names_its_code_message_and_request() {
        let body = RawValue::from_string(
            json!({"error": {"code": "INVALID_MESSAGE", "message": "bad"}, "originalMessage": {"id": "7"}})
                .to_string(),
        )
        .unwrap();
        assert_eq!(
            describe_error(Some(&body)),
            ("INVALID_MESSAGE bad".to_string(), Some("7".to_string()))
        );
        assert_eq!(describe_error(None).0, "no details");
    }
}

//! The rows of the mapping table ([`super::table`]), one module per owner: device
//! channels, groups, and the home with its sections.
//!
//! Roles are chosen from ioBroker's state roles so that `@iobroker/type-detector`
//! recognises each device (its patterns, not a name list, decide); where the detector
//! forced a choice, the row says why.
//!
//! A type names rows here only for behaviour of its own. A type that behaves like a
//! known one is one catalog row with `like` ([`super::catalog`]) and takes that type's
//! rows; a type the catalog knows that no row names (nor its `like` type) takes the rows
//! for every type: a temperature or a flood alarm needs no more, and the wired
//! ventilation family, the glass display's climate and weather screens and the partner
//! systems' dimmers and switches send fields that neither homematicip 2.19.1 nor
//! ioBroker.hmip 3.x names. Every field a channel or group sends still becomes a state.

mod channels;
mod groups;
mod home;

pub use channels::CHANNEL_ROWS;
pub use groups::GROUP_ROWS;
pub use home::HOME_ROWS;

use super::table::Flag;

const BOOL: &str = "boolean";
const NUM: &str = "number";
const STR: &str = "string";

/// Writable non-button actions are write-only (the cloud reports no value); besides
/// buttons only neutral roles allow `read: false`: `state` for numbers, `text` for
/// strings.
const ACTION: &str = "state";
/// A boolean `state` would be taken for a socket by type-detector; `switch.setting`
/// has no read rule and no detector.
const ACTION_BOOL: &str = "switch.setting";

/// A window's state as ioBroker's `value.window` numbers it.
const WINDOW_STATES: &[&str] = &["CLOSED", "TILTED", "OPEN"];
/// `windowOpen`: the boolean ioBroker.hmip derived from `windowState`.
static WINDOW_OPEN: Flag = Flag {
    on: &["OPEN", "TILTED"],
    off: &["CLOSED"],
    send: ["CLOSED", "OPEN"],
};
const PROFILE_MODES: &[&str] = &["AUTOMATIC", "MANUAL"];
/// An alarm siren's acoustic signals.
pub(crate) const ACOUSTIC_SIGNALS: &[&str] = &[
    "DISABLE_ACOUSTIC_SIGNAL",
    "FREQUENCY_RISING",
    "FREQUENCY_FALLING",
    "FREQUENCY_RISING_AND_FALLING",
    "FREQUENCY_ALTERNATING_LOW_HIGH",
    "FREQUENCY_ALTERNATING_LOW_MID_HIGH",
    "FREQUENCY_HIGHON_OFF",
    "FREQUENCY_HIGHON_LONGOFF",
    "FREQUENCY_LOWON_OFF_HIGHON_OFF",
    "FREQUENCY_LOWON_LONGOFF_HIGHON_LONGOFF",
    "LOW_BATTERY",
    "DISARMED",
    "INTERNALLY_ARMED",
    "EXTERNALLY_ARMED",
    "DELAYED_INTERNALLY_ARMED",
    "DELAYED_EXTERNALLY_ARMED",
    "EVENT",
    "ERROR",
];
/// An alarm siren's optical signals.
pub(crate) const OPTICAL_SIGNALS: &[&str] = &[
    "DISABLE_OPTICAL_SIGNAL",
    "BLINKING_ALTERNATELY_REPEATING",
    "BLINKING_BOTH_REPEATING",
    "DOUBLE_FLASHING_REPEATING",
    "FLASHING_BOTH_REPEATING",
    "CONFIRMATION_SIGNAL_0",
    "CONFIRMATION_SIGNAL_1",
    "CONFIRMATION_SIGNAL_2",
];
const SMOKE_ALARM_TYPES: &[&str] = &[
    "IDLE_OFF",
    "PRIMARY_ALARM",
    "SECONDARY_ALARM",
    "INTRUSION_ALARM",
];

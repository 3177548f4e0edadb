//! The rows of the mapping table ([`super::table`]), one module per owner: device
//! channels, groups, and the home with its sections.
//!
//! Roles are chosen from ioBroker's state roles so that `@iobroker/type-detector`
//! recognises each device (its patterns, not a name list, decide); where the detector
//! forced a choice, the row says why.

mod channels;
mod groups;
mod home;

pub use channels::CHANNEL_ROWS;

/// Channel types the mapping knows whose fields all take the rows for every type (a
/// temperature, a flood alarm, ...) or whose fields neither homematicip 2.19.1 nor
/// ioBroker.hmip 3.x names (the wired ventilation family, the glass display's climate
/// and weather screens, the partner systems' dimmers and switches): they have no row of
/// their own, and every field they send still becomes a state.
pub const GENERIC_ONLY_CHANNELS: &[&str] = &[
    "AIR_PRESSURE_SENSOR_CHANNEL",
    "AIR_VENTILATION_CONTROLLER_CHANNEL",
    "AIR_VENTILATION_ROOM_CHANNEL",
    "BASE_WATER_SENSOR_CHANNEL",
    "BLIND_GROUP_REMOTE_CONTROL_CHANNEL",
    "DISTANCE_SENSOR_CHANNEL",
    "EXTRACTION_FAN_CHANNEL",
    "FAN_CONTROL_CHANNEL",
    "FLOW_REGULATOR_CHANNEL",
    "FLOW_REGULATOR_WITH_CARBON_CHANNEL",
    "FLOW_REGULATOR_WITH_CLIMATE_CHANNEL",
    "FLOW_SENSOR_CHANNEL",
    "FLOW_SENSOR_WITH_VOC_NOX_CHANNEL",
    "GENERIC_COLOR_DIMMER_CHANNEL",
    "GENERIC_DIMMER_CHANNEL",
    "GENERIC_PARTICULATE_MATTER_SENSOR_CHANNEL",
    "GENERIC_SWITCH_CHANNEL",
    "GENERIC_WATER_SENSOR_CHANNEL",
    "INDOOR_CLIMATE_DISPLAY_CHANNEL",
    "SUPPLY_FAN_CHANNEL",
    "TEMPERATURE_SENSOR_CHANNEL",
    "WEATHER_DISPLAY_CHANNEL",
];

/// Group types the mapping knows with no row of their own (their fields, if any, take
/// the rows for every group type), for the same reasons as [`GENERIC_ONLY_CHANNELS`].
pub const GENERIC_ONLY_GROUPS: &[&str] = &[
    "AUTO_RELOCK_PROFILE",
    "DEMAND_CONTROLLED_VENTILATION_GROUP",
    "ELECTRICITY_SURPLUS_RULE_GROUP",
    "EXTENDED_LINKED_VENTILATION",
    "EXTENDED_LINKED_WATERING",
    "FALSE_ALARM_PROTECTION_RULE",
    "FAN_CONTROL_GROUP",
    "GENERIC_DATA",
    "HEATING_COOLING_DEMAND",
    "HEAT_DEMAND_RULE",
    "HEAT_DEMAND_RULE_WITH_LEAD_ROOM",
    "HEAT_PUMP_TEMPERATURE_RULE_GROUP",
    "LINKED_RAIN_PROTECTION",
    "LOCK_OUT_PROTECTION_RULE",
    "LOCK_PROFILE",
    "NO_HEAT_DEMAND_RULE",
    "OPEN_DOOR_NOTIFICATION_RULE_GROUP",
    "RESIDENT",
    "SMOKE_ALARM_DETECTION_RULE",
    "VENTILATION_PROFILE",
    "WATERING_PROFILE",
    "WATER_ALARM",
];
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

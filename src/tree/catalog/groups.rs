//! The group types: every member of homematicip 2.19.1's `GroupType`. A group's states
//! are the fields the cloud sends, plus the few that ioBroker.hmip 3.2.0 creates on every
//! group of a type.

use super::{b, TypeRow};

/// Every known group type, sorted by name.
pub static GROUP_TYPES: &[TypeRow] = &[
    TypeRow {
        name: "ACCESS_AUTHORIZATION_PROFILE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "ACCESS_CONTROL",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "ALARM_SWITCHING",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "AUTO_RELOCK_PROFILE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "DOOR_LOCK_AUTHORIZATION_PROFILE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "ENERGY",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "ENVIRONMENT",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "EXTENDED_LINKED_GARAGE_DOOR",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "EXTENDED_LINKED_NOTIFICATION",
        // A linked group that switches, with an on-time of its own.
        like: Some("EXTENDED_LINKED_SWITCHING"),
        fields: &[],
    },
    TypeRow {
        name: "EXTENDED_LINKED_SHUTTER",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "EXTENDED_LINKED_SWITCHING",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "EXTENDED_LINKED_VENTILATION",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING",
        like: None,
        // ioBroker.hmip 3.2.0 creates it on every HEATING group.
        fields: &[&[b("sabotage")]],
    },
    TypeRow {
        name: "HEATING_CHANGEOVER",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING_COOLING_DEMAND",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING_COOLING_DEMAND_BOILER",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING_COOLING_DEMAND_PUMP",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING_DEHUMIDIFIER",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING_EXTERNAL_CLOCK",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING_FAILURE_ALERT_RULE_GROUP",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING_HUMIDITY_LIMITER",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEATING_TEMPERATURE_LIMITER",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HOT_WATER",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HUMIDITY_WARNING_RULE_GROUP",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "INBOX",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "INDOOR_CLIMATE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "LINKED_SWITCHING",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "LOCK_OUT_PROTECTION_RULE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "LOCK_PROFILE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "OPEN_DOOR_NOTIFICATION_RULE_GROUP",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "OVER_HEAT_PROTECTION_RULE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "SECURITY",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "SECURITY_BACKUP_ALARM_SWITCHING",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "SECURITY_ZONE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "SHUTTER_PROFILE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "SHUTTER_WIND_PROTECTION_RULE",
        // A protection rule: the shutter and slats levels it moves to.
        like: Some("OVER_HEAT_PROTECTION_RULE"),
        fields: &[],
    },
    TypeRow {
        name: "SMOKE_ALARM_DETECTION_RULE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "SWITCHING",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "SWITCHING_PROFILE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "VENTILATION_PROFILE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "DEMAND_CONTROLLED_VENTILATION_GROUP",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "WATER_ALARM",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "ELECTRICITY_SURPLUS_RULE_GROUP",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "EXTENDED_LINKED_WATERING",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "FALSE_ALARM_PROTECTION_RULE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "FAN_CONTROL_GROUP",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "GENERIC_DATA",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEAT_DEMAND_RULE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEAT_DEMAND_RULE_WITH_LEAD_ROOM",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "HEAT_PUMP_TEMPERATURE_RULE_GROUP",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "LINKED_RAIN_PROTECTION",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "META",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "NO_HEAT_DEMAND_RULE",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "RESIDENT",
        like: None,
        fields: &[],
    },
    TypeRow {
        name: "WATERING_PROFILE",
        like: None,
        fields: &[],
    },
];

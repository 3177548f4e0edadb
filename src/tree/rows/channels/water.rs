//! Water: water sensors, the water supply stop valve, watering.

use super::super::{ACOUSTIC_SIGNALS, ACTION_BOOL, BOOL, NUM, STR};
use crate::tree::table::{FieldRow, Flag};

const WATER_ALARM_TRIGGERS: &[&str] = &[
    "NO_ALARM",
    "MOISTURE_DETECTION",
    "WATER_DETECTION",
    "WATER_MOISTURE_DETECTION",
];
/// The water supply stop valve (HmIP-WSS): `setWaterSupplyState`.
const WATER_SUPPLY: &[&str] = &["WATER_SUPPLY_STOP_CHANNEL"];
/// The states homematicip 2.19.1 knows for the valve (`WaterSupplyState`).
const WATER_SUPPLY_STATES: &[&str] = &[
    "UNKNOWN",
    "NO_WATERFLOW",
    "REDUCED_WATERFLOW",
    "FULL_OPENED",
];
/// `waterSupplyOpen`: the valve as an on/off switch (open = water flows).
static WATER_SUPPLY_OPEN: Flag = Flag {
    on: &["FULL_OPENED", "REDUCED_WATERFLOW"],
    off: &["NO_WATERFLOW"],
    send: ["NO_WATERFLOW", "FULL_OPENED"],
};

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
    // Water: standing water is the flood alarm; moisture is the early warning
    // (`indicator.*` roles are never a detector's main state).
    FieldRow::new(&[], "waterlevelDetected", "sensor.alarm.flood", BOOL),
    FieldRow::new(&[], "moistureDetected", "indicator.alarm.flood", BOOL),
    FieldRow::new(
        &["WATER_SENSOR_CHANNEL"],
        "acousticAlarmSignal",
        "text",
        STR,
    )
    .states(ACOUSTIC_SIGNALS)
    .write("device/configuration/setAcousticAlarmSignal"),
    FieldRow::new(
        &["WATER_SENSOR_CHANNEL"],
        "acousticAlarmTiming",
        "text",
        STR,
    )
    .states(&[
        "PERMANENT",
        "THREE_MINUTES",
        "SIX_MINUTES",
        "ONCE_PER_MINUTE",
    ])
    .write("device/configuration/setAcousticAlarmTiming"),
    FieldRow::new(
        &["WATER_SENSOR_CHANNEL"],
        "acousticWaterAlarmTrigger",
        "text",
        STR,
    )
    .states(WATER_ALARM_TRIGGERS)
    .write("device/configuration/setAcousticWaterAlarmTrigger"),
    FieldRow::new(
        &["WATER_SENSOR_CHANNEL"],
        "inAppWaterAlarmTrigger",
        "text",
        STR,
    )
    .states(WATER_ALARM_TRIGGERS)
    .write("device/configuration/setInAppWaterAlarmTrigger"),
    FieldRow::new(
        &["WATER_SENSOR_CHANNEL"],
        "sirenWaterAlarmTrigger",
        "text",
        STR,
    )
    .states(WATER_ALARM_TRIGGERS)
    .write("device/configuration/setSirenWaterAlarmTrigger"),
    // The trigger settings of the other water sensors: read-only (no client sends them).
    FieldRow::new(&[], "inAppWaterAlarmTrigger", "text", STR).states(WATER_ALARM_TRIGGERS),
    FieldRow::new(&[], "sirenWaterAlarmTrigger", "text", STR).states(WATER_ALARM_TRIGGERS),
    // The water supply stop valve: its state, and the valve as an on/off switch (open =
    // water flows), the closest of type-detector's kinds to a valve. Only the switch is
    // written: it sends the two states homematicip documents for the call (FULL_OPENED,
    // NO_WATERFLOW); UNKNOWN and REDUCED_WATERFLOW are states the valve reports.
    FieldRow::new(&[], "waterSupplyState", "text", STR).states(WATER_SUPPLY_STATES),
    FieldRow::flag(
        WATER_SUPPLY,
        "waterSupplyOpen",
        "waterSupplyState",
        "switch",
        &WATER_SUPPLY_OPEN,
    )
    .write_as("device/control/setWaterSupplyState", "waterSupplyState"),
    FieldRow::new(&[], "waterPressure", "value.pressure", NUM).unit("bar"),
    FieldRow::new(&[], "waterAlarmActive", "indicator.alarm.flood", BOOL),
    FieldRow::new(&[], "waterFlowDurationExceeded", "indicator.alarm", BOOL),
    FieldRow::new(&[], "waterFlowThresholdExceeded", "indicator.alarm", BOOL),
    FieldRow::new(&[], "waterSupplyVacationModeActive", "indicator", BOOL),
    FieldRow::new(&[], "lastFlushTimestamp", "value.time", NUM),
    FieldRow::new(&[], "lastFlushReminderTimestamp", "value.time", NUM),
    FieldRow::new(WATER_SUPPLY, "vacationStartTime", "text", STR),
    FieldRow::new(WATER_SUPPLY, "vacationEndTime", "text", STR),
    // Watering: the valve switches like a socket.
    FieldRow::new(
        &["WATERING_ACTUATOR_CHANNEL"],
        "wateringActive",
        "switch",
        BOOL,
    )
    .write("device/control/setWateringSwitchState"),
    FieldRow::command(
        &["WATERING_ACTUATOR_CHANNEL"],
        "setWateringSwitchState",
        ACTION_BOOL,
        BOOL,
        "device/control/setWateringSwitchState",
        "wateringActive",
    ),
    // Watering for a time: the on-time is a parameter, as with the lights.
    FieldRow::param(
        &["WATERING_ACTUATOR_CHANNEL"],
        "controlOnTime",
        "level.timer.off",
        NUM,
    )
    .unit("s")
    .range(1.0, 86400.0),
    FieldRow::command(
        &["WATERING_ACTUATOR_CHANNEL"],
        "setWateringSwitchStateWithTime",
        ACTION_BOOL,
        BOOL,
        "device/control/setWateringSwitchStateWithTime",
        "wateringActive",
    )
    .params(&[("wateringTime", "controlOnTime")]),
    FieldRow::button(
        &["WATERING_ACTUATOR_CHANNEL"],
        "toggleWateringState",
        "device/control/toggleWateringState",
    ),
    FieldRow::button(
        &["WATERING_ACTUATOR_CHANNEL"],
        "resetWaterVolume",
        "device/control/resetWaterVolume",
    ),
    FieldRow::new(&[], "waterFlow", "value.flow", NUM).unit("l/min"),
    FieldRow::new(&[], "waterVolume", "value", NUM).unit("l"),
    FieldRow::new(&[], "waterVolumeSinceOpen", "value", NUM).unit("l"),
    FieldRow::new(&[], "wateringOnTime", "value.interval", NUM).unit("s"),
];

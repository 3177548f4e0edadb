//! Rows for group fields. Group calls carry `{groupId}`.

use super::{
    ACOUSTIC_SIGNALS, ACTION, BOOL, NUM, OPTICAL_SIGNALS, PROFILE_MODES, SMOKE_ALARM_TYPES, STR,
    WINDOW_OPEN, WINDOW_STATES,
};
use crate::tree::table::FieldRow;

const HEATING: &[&str] = &["HEATING"];
/// Groups that switch through `group/switching/setState`.
const SWITCHING: &[&str] = &[
    "SWITCHING",
    "LINKED_SWITCHING",
    "ALARM_SWITCHING",
    "SECURITY_BACKUP_ALARM_SWITCHING",
    "EXTENDED_LINKED_SWITCHING",
];
/// Linked groups whose on-time is set through `group/switching/linked/setOnTime`
/// (homematicip and ioBroker.hmip 3.x).
const LINKED: &[&str] = &["EXTENDED_LINKED_SWITCHING"];
/// Profile groups whose automatic/manual mode is set through `group/heating/setProfileMode`
/// (homematicip and ioBroker.hmip 3.x, despite the path).
const PROFILE_MODE_GROUPS: &[&str] = &["HOT_WATER", "SHUTTER_PROFILE"];
/// Switching profiles: the mode goes to `group/switching/profile/setProfileMode` with the
/// group's channels.
const SWITCHING_PROFILES: &[&str] = &["SWITCHING_PROFILE"];
const RULES: &[&str] = &["OVER_HEAT_PROTECTION_RULE"];
/// Groups of shutters, moved through `group/switching/…`.
const SHUTTERS: &[&str] = &["SWITCHING", "SHUTTER_PROFILE", "EXTENDED_LINKED_SHUTTER"];
const ALARM: &[&str] = &["ALARM_SWITCHING"];
/// The heating modes in the order of type-detector's thermostat MODE (0 AUTO, 1 MANUAL).
const CONTROL_MODES: &[&str] = &["AUTOMATIC", "MANUAL", "ECO"];

/// Rows for group fields.
pub static GROUP_ROWS: &[FieldRow] = &[
    // Heating groups: type-detector's thermostat (set point, actual temperature,
    // humidity, boost, mode, valve, open window).
    FieldRow::new(HEATING, "setPointTemperature", "level.temperature", NUM)
        .unit("°C")
        .range(5.0, 30.0)
        .write("group/heating/setSetPointTemperature"),
    FieldRow::new(&[], "actualTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "humidity", "value.humidity", NUM)
        .unit("%")
        .range(0.0, 100.0),
    FieldRow::new(HEATING, "boostMode", "switch.boost", BOOL)
        .write_as("group/heating/setBoost", "boost"),
    FieldRow::new(HEATING, "boostDuration", "level.setting.timer", NUM)
        .unit("min")
        .range(0.0, 60.0)
        .write("group/heating/setBoostDuration"),
    // `level.mode.thermostat` must be a number for the repository checker; writes also
    // take the cloud's names, as ioBroker.hmip's string state did.
    FieldRow::new(HEATING, "controlMode", "level.mode.thermostat", NUM)
        .indexed(CONTROL_MODES)
        .write("group/heating/setControlMode"),
    FieldRow::new(HEATING, "activeProfile", "text", STR)
        .states(&[
            "PROFILE_1",
            "PROFILE_2",
            "PROFILE_3",
            "PROFILE_4",
            "PROFILE_5",
            "PROFILE_6",
        ])
        .write_as("group/heating/setActiveProfile", "profileIndex"),
    FieldRow::new(&[], "valvePosition", "value.valve", NUM).percent(),
    FieldRow::new(HEATING, "minTemperature", "value", NUM).unit("°C"),
    FieldRow::new(HEATING, "maxTemperature", "value", NUM).unit("°C"),
    FieldRow::new(HEATING, "windowOpenTemperature", "value", NUM).unit("°C"),
    FieldRow::new(HEATING, "externalClockHeatingTemperature", "value", NUM).unit("°C"),
    FieldRow::new(HEATING, "externalClockCoolingTemperature", "value", NUM).unit("°C"),
    FieldRow::new(HEATING, "humidityLimitValue", "value", NUM).unit("%"),
    FieldRow::new(&[], "lastSetPointReachedTimestamp", "value.time", NUM),
    FieldRow::new(&[], "lastSetPointUpdatedTimestamp", "value.time", NUM),
    // A group's window state is the room's: plain `value` (no windowTilt of its own);
    // a heating group's `windowOpen` is its thermostat's WINDOW.
    FieldRow::new(&[], "windowState", "value", NUM).indexed(WINDOW_STATES),
    FieldRow::flag(
        HEATING,
        "windowOpen",
        "windowState",
        "sensor.window",
        &WINDOW_OPEN,
    ),
    // Switching groups: type-detector's socket.
    FieldRow::new(SWITCHING, "on", "switch", BOOL).write("group/switching/setState"),
    FieldRow::new(&[], "on", "sensor.switch", BOOL),
    FieldRow::new(&[], "dimLevel", "value.dimmer", NUM).percent(),
    // Shutter groups: type-detector's blind, 100 % = open as on devices.
    FieldRow::new(SHUTTERS, "shutterLevel", "level.blind", NUM)
        .open_percent()
        .write("group/switching/setShutterLevel"),
    FieldRow::new(SHUTTERS, "slatsLevel", "level.tilt", NUM)
        .open_percent()
        .write("group/switching/setSlatsLevel")
        .along(&["shutterLevel"]),
    FieldRow::button(SHUTTERS, "stop", "group/switching/stop").role("button.stop.blind"),
    FieldRow::new(&[], "primaryShadingLevel", "value.blind", NUM).open_percent(),
    FieldRow::new(&[], "secondaryShadingLevel", "value.tilt", NUM).open_percent(),
    FieldRow::new(PROFILE_MODE_GROUPS, "profileMode", "text", STR)
        .states(PROFILE_MODES)
        .write("group/heating/setProfileMode"),
    FieldRow::new(SWITCHING_PROFILES, "profileMode", "text", STR)
        .states(PROFILE_MODES)
        .write("group/switching/profile/setProfileMode")
        .along(&["channels"]),
    FieldRow::new(&[], "profileMode", "text", STR).states(PROFILE_MODES),
    FieldRow::new(&[], "processing", "indicator.working", BOOL),
    // Alarm switching: the sirens of the alarm system; ioBroker.hmip's set/test states.
    // A linked group's on-time: a writable setting (ioBroker.hmip 3.x writes `onTime`).
    FieldRow::new(LINKED, "onTime", "level.timer", NUM)
        .unit("s")
        .write("group/switching/linked/setOnTime"),
    FieldRow::new(&[], "onTime", "value.interval", NUM).unit("s"),
    FieldRow::new(&[], "signalAcoustic", "text", STR).states(ACOUSTIC_SIGNALS),
    FieldRow::new(&[], "signalOptical", "text", STR).states(OPTICAL_SIGNALS),
    FieldRow::command(
        ALARM,
        "setOnTime",
        ACTION,
        NUM,
        "group/switching/alarm/setOnTime",
        "onTime",
    )
    .unit("s")
    .range(0.0, 86400.0),
    FieldRow::command(
        ALARM,
        "setSignalAcoustic",
        "text",
        STR,
        "group/switching/alarm/setSignalAcoustic",
        "signalAcoustic",
    )
    .states(ACOUSTIC_SIGNALS),
    FieldRow::command(
        ALARM,
        "testSignalAcoustic",
        "text",
        STR,
        "group/switching/alarm/testSignalAcoustic",
        "signalAcoustic",
    )
    .states(ACOUSTIC_SIGNALS),
    FieldRow::command(
        ALARM,
        "setSignalOptical",
        "text",
        STR,
        "group/switching/alarm/setSignalOptical",
        "signalOptical",
    )
    .states(OPTICAL_SIGNALS),
    FieldRow::command(
        ALARM,
        "testSignalOptical",
        "text",
        STR,
        "group/switching/alarm/testSignalOptical",
        "signalOptical",
    )
    .states(OPTICAL_SIGNALS),
    // Security zones and the environment group.
    FieldRow::new(&[], "motionDetected", "sensor.motion", BOOL),
    FieldRow::new(&[], "presenceDetected", "sensor.motion", BOOL),
    FieldRow::new(&[], "smokeDetectorAlarmType", "text", STR).states(SMOKE_ALARM_TYPES),
    FieldRow::new(&[], "waterlevelDetected", "sensor.alarm.flood", BOOL),
    FieldRow::new(&[], "moistureDetected", "indicator.alarm.flood", BOOL),
    FieldRow::new(&[], "powerMainsFailure", "sensor.alarm.power", BOOL),
    FieldRow::new(&[], "illumination", "value.brightness", NUM).unit("lux"),
    FieldRow::new(&[], "raining", "sensor.rain", BOOL),
    FieldRow::new(&[], "windSpeed", "value.speed.wind", NUM).unit("km/h"),
    FieldRow::new(&[], "ventilationLevel", "value", NUM).percent(),
    // Ventilation groups (linked and profile) of the 0-10 V actuator and the wired
    // ventilation: read-only, no client controls them yet.
    FieldRow::new(&[], "ventilationState", "text", STR).states(&["VENTILATION", "NO_VENTILATION"]),
    FieldRow::new(&[], "ventilationVentilationLevel", "value", NUM).percent(),
    FieldRow::new(&[], "ventilationTime", "value", NUM),
    FieldRow::new(&[], "dimStep", "value", NUM).percent(),
    // Protection rules: thresholds and the position the shutters go to.
    FieldRow::new(&[], "temperatureLowerThreshold", "value", NUM).unit("°C"),
    FieldRow::new(&[], "temperatureUpperThreshold", "value", NUM).unit("°C"),
    FieldRow::new(&[], "windSpeedThreshold", "value", NUM).unit("km/h"),
    FieldRow::new(RULES, "targetShutterLevel", "value.blind", NUM).open_percent(),
    FieldRow::new(RULES, "targetSlatsLevel", "value.tilt", NUM).open_percent(),
    FieldRow::new(&[], "triggered", "indicator", BOOL),
    FieldRow::new(&[], "enabled", "indicator", BOOL),
    // Maintenance summaries of the group's devices.
    FieldRow::new(&[], "lowBat", "indicator.maintenance.lowbat", BOOL),
    FieldRow::new(&[], "unreach", "indicator.maintenance.unreach", BOOL),
    FieldRow::new(&[], "sabotage", "indicator.maintenance.alarm", BOOL),
    FieldRow::new(&[], "dutyCycle", "indicator.maintenance", BOOL),
    FieldRow::new(&[], "configPending", "indicator.maintenance", BOOL),
    FieldRow::new(&[], "lastStatusUpdate", "value.time", NUM),
];

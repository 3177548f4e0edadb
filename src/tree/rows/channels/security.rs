//! Security sensors: window contacts and handles, motion and presence, smoke,
//! acceleration and tilt, mains failure.

use super::super::{BOOL, NUM, SMOKE_ALARM_TYPES, STR, WINDOW_OPEN, WINDOW_STATES};
use crate::tree::table::{FieldRow, Flag};

/// Contacts whose `windowState` knows no TILTED in practice: type-detector's window,
/// through the boolean `windowOpen` (`sensor.window`).
const CONTACTS: &[&str] = &[
    "SHUTTER_CONTACT_CHANNEL",
    "MULTI_MODE_INPUT_CHANNEL",
    "GENERIC_CONTACT_SENSOR_CHANNEL",
];
/// Window handles: type-detector's windowTilt, through `windowState` as `value.window`.
const HANDLES: &[&str] = &["ROTARY_HANDLE_CHANNEL"];
/// Smoke detectors alarm for fire on PRIMARY (own smoke) and SECONDARY (another
/// detector of the group); INTRUSION_ALARM is the siren of the alarm system.
static SMOKE_ALARM: Flag = Flag {
    on: &["PRIMARY_ALARM", "SECONDARY_ALARM"],
    off: &["IDLE_OFF", "INTRUSION_ALARM"],
    send: ["IDLE_OFF", "PRIMARY_ALARM"],
};
const MOTION: &[&str] = &["MOTION_DETECTION_CHANNEL", "PRESENCE_DETECTION_CHANNEL"];
const ACCELERATION: &[&str] = &[
    "ACCELERATION_SENSOR_CHANNEL",
    "TILT_VIBRATION_SENSOR_CHANNEL",
];
const SOUND_TYPES: &[&str] = &[
    "SOUND_NO_SOUND",
    "SOUND_SHORT",
    "SOUND_SHORT_SHORT",
    "SOUND_LONG",
];

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
    // Windows: `value.window` is a number for type-detector (0 CLOSED, 1 TILTED,
    // 2 OPEN); on contacts it is plain `value` so that a contact is one window (through
    // `windowOpen`), not a window and a windowTilt at once.
    FieldRow::new(HANDLES, "windowState", "value.window", NUM).indexed(WINDOW_STATES),
    FieldRow::new(&[], "windowState", "value", NUM).indexed(WINDOW_STATES),
    FieldRow::flag(
        CONTACTS,
        "windowOpen",
        "windowState",
        "sensor.window",
        &WINDOW_OPEN,
    ),
    FieldRow::flag(
        HANDLES,
        "windowOpen",
        "windowState",
        "indicator",
        &WINDOW_OPEN,
    ),
    FieldRow::new(&[], "eventDelay", "value.interval", NUM).unit("s"),
    FieldRow::new(&[], "binaryBehaviorType", "text", STR)
        .states(&["NORMALLY_CLOSE", "NORMALLY_OPEN"]),
    FieldRow::new(&[], "multiModeInputMode", "text", STR).states(&[
        "KEY_BEHAVIOR",
        "SWITCH_BEHAVIOR",
        "BINARY_BEHAVIOR",
    ]),
    // Motion and presence: type-detector's motion.
    FieldRow::new(&[], "motionDetected", "sensor.motion", BOOL),
    FieldRow::new(&[], "presenceDetected", "sensor.motion", BOOL),
    FieldRow::new(&[], "illumination", "value.brightness", NUM).unit("lux"),
    FieldRow::new(&[], "currentIllumination", "value.brightness", NUM).unit("lux"),
    FieldRow::new(&[], "averageIllumination", "value", NUM).unit("lux"),
    FieldRow::new(&[], "highestIllumination", "value", NUM).unit("lux"),
    FieldRow::new(&[], "lowestIllumination", "value", NUM).unit("lux"),
    FieldRow::new(MOTION, "motionDetectionActive", "switch.enable", BOOL)
        .write("device/control/setMotionDetectionActive"),
    FieldRow::new(&[], "motionDetectionSendInterval", "text", STR).states(&[
        "SECONDS_30",
        "SECONDS_60",
        "SECONDS_120",
        "SECONDS_240",
        "SECONDS_480",
    ]),
    // Smoke: type-detector's fireAlarm needs a boolean; the cloud sends an enum.
    FieldRow::new(&[], "smokeDetectorAlarmType", "text", STR).states(SMOKE_ALARM_TYPES),
    FieldRow::flag(
        &["SMOKE_DETECTOR_CHANNEL", "GENERIC_SMOKE_ALARM_CHANNEL"],
        "smokeAlarm",
        "smokeDetectorAlarmType",
        "sensor.alarm.fire",
        &SMOKE_ALARM,
    ),
    FieldRow::new(&[], "chamberDegraded", "indicator.maintenance", BOOL),
    // Acceleration and tilt sensors: settings, each through its own call.
    FieldRow::new(ACCELERATION, "accelerationSensorMode", "text", STR)
        .states(&["ANY_MOTION", "FLAT_DECT", "TILT"])
        .write("device/configuration/setAccelerationSensorMode"),
    FieldRow::new(
        ACCELERATION,
        "accelerationSensorNeutralPosition",
        "text",
        STR,
    )
    .states(&["HORIZONTAL", "VERTICAL"])
    .write("device/configuration/setAccelerationSensorNeutralPosition"),
    FieldRow::new(ACCELERATION, "accelerationSensorSensitivity", "text", STR)
        .states(&[
            "SENSOR_RANGE_16G",
            "SENSOR_RANGE_8G",
            "SENSOR_RANGE_4G",
            "SENSOR_RANGE_2G",
            "SENSOR_RANGE_2G_PLUS_SENS",
            "SENSOR_RANGE_2G_2PLUS_SENSE",
        ])
        .write("device/configuration/setAccelerationSensorSensitivity"),
    FieldRow::new(
        ACCELERATION,
        "accelerationSensorTriggerAngle",
        "level.setting.tilt",
        NUM,
    )
    .unit("°")
    .range(0.0, 90.0)
    .write("device/configuration/setAccelerationSensorTriggerAngle"),
    FieldRow::new(
        ACCELERATION,
        "accelerationSensorEventFilterPeriod",
        "level.setting.timer",
        NUM,
    )
    .unit("s")
    .write("device/configuration/setAccelerationSensorEventFilterPeriod"),
    FieldRow::new(ACCELERATION, "notificationSoundTypeHighToLow", "text", STR)
        .states(SOUND_TYPES)
        .write_as(
            "device/configuration/setNotificationSoundType",
            "notificationSoundType",
        )
        .fixed(&[("isHighToLow", true)]),
    FieldRow::new(ACCELERATION, "notificationSoundTypeLowToHigh", "text", STR)
        .states(SOUND_TYPES)
        .write_as(
            "device/configuration/setNotificationSoundType",
            "notificationSoundType",
        )
        .fixed(&[("isHighToLow", false)]),
    // Mains failure.
    FieldRow::new(&[], "powerMainsFailure", "sensor.alarm.power", BOOL),
    FieldRow::new(&[], "genericAlarmSignal", "text", STR).states(&[
        "NO_ALARM",
        "SILENT_ALARM",
        "FULL_ALARM",
    ]),
];

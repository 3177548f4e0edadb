//! Rows for device channel fields. The first row whose types contain the channel type
//! wins; a row with no types applies to every channel type.

use super::{
    ACOUSTIC_SIGNALS, ACTION, ACTION_BOOL, BOOL, NUM, PROFILE_MODES, SMOKE_ALARM_TYPES, STR,
    WINDOW_OPEN, WINDOW_STATES,
};
use crate::tree::table::{FieldRow, Flag};

/// Plain on/off actuators: type-detector's socket (`switch`).
const SWITCHES: &[&str] = &[
    "SWITCH_CHANNEL",
    "SWITCH_MEASURING_CHANNEL",
    "MULTI_MODE_INPUT_SWITCH_CHANNEL",
];
/// Light channels: `on` is `switch.light`, so type-detector's dimmer takes it as its
/// ON switch instead of leaving it over as a second, socket-like device.
const LIGHTS: &[&str] = &[
    "DIMMER_CHANNEL",
    "MULTI_MODE_INPUT_DIMMER_CHANNEL",
    "UNIVERSAL_LIGHT_CHANNEL",
    "UNIVERSAL_LIGHT_GROUP_CHANNEL",
    "EXTERNAL_UNIVERSAL_LIGHT_CHANNEL",
    "NOTIFICATION_LIGHT_CHANNEL",
    "BACKLIGHT_CHANNEL",
    "OPTICAL_SIGNAL_CHANNEL",
    "OPTICAL_SIGNAL_GROUP_CHANNEL",
];
/// Tunable-white lights.
const WHITE_LIGHTS: &[&str] = &[
    "UNIVERSAL_LIGHT_CHANNEL",
    "UNIVERSAL_LIGHT_GROUP_CHANNEL",
    "EXTERNAL_UNIVERSAL_LIGHT_CHANNEL",
];
/// Lights with one of eight fixed colours.
const SIGNAL_LIGHTS: &[&str] = &[
    "NOTIFICATION_LIGHT_CHANNEL",
    "OPTICAL_SIGNAL_CHANNEL",
    "OPTICAL_SIGNAL_GROUP_CHANNEL",
];
const SHUTTERS: &[&str] = &[
    "SHUTTER_CHANNEL",
    "BLIND_CHANNEL",
    "MULTI_MODE_INPUT_BLIND_CHANNEL",
];
const BLINDS: &[&str] = &["BLIND_CHANNEL", "MULTI_MODE_INPUT_BLIND_CHANNEL"];
const SHADINGS: &[&str] = &["SHADING_CHANNEL"];
const THERMOSTATS: &[&str] = &[
    "HEATING_THERMOSTAT_CHANNEL",
    "WALL_MOUNTED_THERMOSTAT_PRO_CHANNEL",
    "WALL_MOUNTED_THERMOSTAT_WITH_CARBON_CHANNEL",
    "ANALOG_ROOM_CONTROL_CHANNEL",
];
const CLIMATE_DISPLAYS: &[&str] = &[
    "WALL_MOUNTED_THERMOSTAT_PRO_CHANNEL",
    "WALL_MOUNTED_THERMOSTAT_WITH_CARBON_CHANNEL",
];
/// Contacts whose `windowState` knows no TILTED in practice: type-detector's window,
/// through the boolean `windowOpen` (`sensor.window`).
const CONTACTS: &[&str] = &[
    "SHUTTER_CONTACT_CHANNEL",
    "CONTACT_INTERFACE_CHANNEL",
    "MULTI_MODE_INPUT_CHANNEL",
    "MULTI_MODE_LOCK_INPUT_CHANNEL",
    "MAGNETIC_DOOR_SENSOR_CHANNEL",
];
/// Window handles: type-detector's windowTilt, through `windowState` as `value.window`.
const HANDLES: &[&str] = &["ROTARY_HANDLE_CHANNEL"];
const LOCKS: &[&str] = &["DOOR_LOCK_CHANNEL", "DOOR_LOCK_PRO_CHANNEL"];
const LOCK_STATES: &[&str] = &["OPEN", "LOCKED", "UNLOCKED", "NONE"];
/// The lock states a user may ask for.
const TARGET_LOCK_STATES: &[&str] = &["OPEN", "LOCKED", "UNLOCKED"];
/// ioBroker's `switch.lock`: true = unlocked (open), false = locked.
static UNLOCKED: Flag = Flag {
    on: &["UNLOCKED", "OPEN"],
    off: &["LOCKED"],
    send: ["LOCKED", "UNLOCKED"],
};
/// Smoke detectors alarm for fire on PRIMARY (own smoke) and SECONDARY (another
/// detector of the group); INTRUSION_ALARM is the siren of the alarm system.
static SMOKE_ALARM: Flag = Flag {
    on: &["PRIMARY_ALARM", "SECONDARY_ALARM"],
    off: &["IDLE_OFF", "INTRUSION_ALARM"],
    send: ["IDLE_OFF", "PRIMARY_ALARM"],
};
const IMPULSE_OUTPUTS: &[&str] = &["IMPULSE_OUTPUT_CHANNEL", "DOOR_SWITCH_CHANNEL"];
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
const WATER_ALARM_TRIGGERS: &[&str] = &[
    "NO_ALARM",
    "MOISTURE_DETECTION",
    "WATER_DETECTION",
    "WATER_MOISTURE_DETECTION",
];
const WEATHER: &[&str] = &[
    "WEATHER_SENSOR_CHANNEL",
    "WEATHER_SENSOR_PLUS_CHANNEL",
    "WEATHER_SENSOR_PRO_CHANNEL",
];

/// Rows for device channel fields.
pub static CHANNEL_ROWS: &[FieldRow] = &[
    // Maintenance fields of channel 0, on every device type.
    FieldRow::new(&[], "lowBat", "indicator.maintenance.lowbat", BOOL),
    FieldRow::new(&[], "unreach", "indicator.maintenance.unreach", BOOL),
    FieldRow::new(&[], "rssiDeviceValue", "value.rssi", NUM).unit("dBm"),
    FieldRow::new(&[], "rssiPeerValue", "value.rssi", NUM).unit("dBm"),
    FieldRow::new(&[], "sabotage", "indicator.maintenance.alarm", BOOL),
    FieldRow::new(&[], "dutyCycle", "indicator.maintenance", BOOL),
    FieldRow::new(&[], "configPending", "indicator.maintenance", BOOL),
    FieldRow::new(&[], "dutyCycleLevel", "value", NUM).unit("%"),
    // Settings: `switch.enable` / `level.setting.*` so that no detector takes them for
    // a socket or a slider.
    FieldRow::new(&[], "routerModuleEnabled", "switch.enable", BOOL)
        .write("device/configuration/setRouterModuleEnabled"),
    FieldRow::new(&[], "operationLockActive", "switch.enable", BOOL)
        .write_as("device/configuration/setOperationLock", "operationLock"),
    FieldRow::new(
        &["DEVICE_BASE_FLOOR_HEATING"],
        "minimumFloorHeatingValvePosition",
        "level.setting.valve",
        NUM,
    )
    .percent()
    .write("device/configuration/setMinimumFloorHeatingValvePosition"),
    FieldRow::new(&[], "profileMode", "text", STR).states(PROFILE_MODES),
    FieldRow::new(&[], "userDesiredProfileMode", "text", STR).states(PROFILE_MODES),
    FieldRow::new(&[], "processing", "indicator.working", BOOL),
    // Switches and lights.
    FieldRow::new(SWITCHES, "on", "switch", BOOL).write("device/control/setSwitchState"),
    FieldRow::new(LIGHTS, "on", "switch.light", BOOL).write("device/control/setSwitchState"),
    FieldRow::new(LIGHTS, "dimLevel", "level.dimmer", NUM)
        .percent()
        .write("device/control/setDimLevel"),
    // ioBroker.hmip's on-time and ramp-time, sent with a dim level through
    // `setDimLevelWithTime` (the cloud takes 0.1..16383 s for both). Roles of the
    // dimmer's ON_TIME and TRANSITION_TIME; a `level.timer` with a range would be taken
    // for a slider of its own.
    FieldRow::param(LIGHTS, "controlOnTime", "level.timer.off", NUM)
        .unit("s")
        .range(0.1, 16383.0),
    FieldRow::param(LIGHTS, "controlRampTime", "time.span", NUM)
        .unit("s")
        .range(0.1, 16383.0),
    FieldRow::command(
        LIGHTS,
        "setDimLevelWithTime",
        ACTION,
        NUM,
        "device/control/setDimLevelWithTime",
        "dimLevel",
    )
    .percent()
    .params(&[("onTime", "controlOnTime"), ("rampTime", "controlRampTime")]),
    FieldRow::new(
        WHITE_LIGHTS,
        "colorTemperature",
        "level.color.temperature",
        NUM,
    )
    .unit("K")
    .write("device/control/setColorTemperatureDimLevel")
    .along(&["dimLevel"]),
    FieldRow::new(WHITE_LIGHTS, "hue", "level.color.hue", NUM)
        .unit("°")
        .range(0.0, 360.0)
        .write("device/control/setHueSaturationDimLevel")
        .along(&["saturationLevel", "dimLevel"]),
    FieldRow::new(
        WHITE_LIGHTS,
        "saturationLevel",
        "level.color.saturation",
        NUM,
    )
    .percent()
    .write("device/control/setHueSaturationDimLevel")
    .along(&["hue", "dimLevel"]),
    FieldRow::new(SIGNAL_LIGHTS, "simpleRGBColorState", "text", STR)
        .states(&[
            "BLACK",
            "BLUE",
            "GREEN",
            "TURQUOISE",
            "RED",
            "PURPLE",
            "YELLOW",
            "WHITE",
        ])
        .write("device/control/setSimpleRGBColorDimLevel")
        .along(&["dimLevel"]),
    // The blinking pattern is the light's effect (type-detector's dimmer EFFECT).
    FieldRow::new(SIGNAL_LIGHTS, "opticalSignalBehaviour", "level.effect", STR)
        .states(&[
            "ON",
            "OFF",
            "BLINKING_MIDDLE",
            "FLASH_MIDDLE",
            "BILLOW_MIDDLE",
        ])
        .write("device/control/setOpticalSignal")
        .along(&["simpleRGBColorState", "dimLevel"]),
    FieldRow::new(&[], "powerUpDimLevel", "value", NUM).percent(),
    FieldRow::new(&[], "onMinLevel", "value", NUM).percent(),
    // Shutters and blinds: 100 % = fully open, ioBroker's convention for level.blind.
    FieldRow::new(SHUTTERS, "shutterLevel", "level.blind", NUM)
        .open_percent()
        .write("device/control/setShutterLevel"),
    FieldRow::new(BLINDS, "slatsLevel", "level.tilt", NUM)
        .open_percent()
        .write("device/control/setSlatsLevel")
        .along(&["shutterLevel"]),
    FieldRow::button(SHUTTERS, "stop", "device/control/stop").role("button.stop.blind"),
    FieldRow::new(SHADINGS, "primaryShadingLevel", "level.blind", NUM)
        .open_percent()
        .write("device/control/setPrimaryShadingLevel"),
    FieldRow::new(SHADINGS, "secondaryShadingLevel", "level.tilt", NUM)
        .open_percent()
        .write("device/control/setSecondaryShadingLevel")
        .along(&["primaryShadingLevel"]),
    FieldRow::button(SHADINGS, "stop", "device/control/stop").role("button.stop.blind"),
    FieldRow::button(
        SHADINGS,
        "setFavoriteShadingPosition",
        "device/control/setFavoriteShadingPosition",
    ),
    FieldRow::new(&[], "favoritePrimaryShadingPosition", "value", NUM).open_percent(),
    FieldRow::new(&[], "favoriteSecondaryShadingPosition", "value", NUM).open_percent(),
    // Thermostats: the set point is written through the channel's HEATING group (the
    // cloud has no device call for it); `level.temperature` + `value.temperature` make
    // type-detector's thermostat.
    FieldRow::new(THERMOSTATS, "setPointTemperature", "level.temperature", NUM)
        .unit("°C")
        .range(5.0, 30.0)
        .write("group/heating/setSetPointTemperature")
        .via_group("HEATING"),
    FieldRow::new(&[], "actualTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "valveActualTemperature", "value.temperature", NUM).unit("°C"),
    // An offset is no temperature reading: plain `value`, so no detector takes it.
    FieldRow::new(&[], "temperatureOffset", "value", NUM).unit("°C"),
    FieldRow::new(&[], "humidity", "value.humidity", NUM)
        .unit("%")
        .range(0.0, 100.0),
    FieldRow::new(&[], "vaporAmount", "value.humidity.absolute", NUM).unit("g/m³"),
    FieldRow::new(&[], "valvePosition", "value.valve", NUM).percent(),
    FieldRow::new(&[], "valveState", "text", STR),
    FieldRow::new(CLIMATE_DISPLAYS, "display", "text", STR)
        .states(&["ACTUAL", "SETPOINT", "ACTUAL_HUMIDITY"])
        .write("device/configuration/setClimateControlDisplay"),
    FieldRow::new(&[], "carbonDioxideConcentration", "value.co2", NUM).unit("ppm"),
    FieldRow::new(&[], "temperatureExternalOne", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "temperatureExternalTwo", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "temperatureExternalDelta", "value", NUM).unit("°C"),
    FieldRow::new(&[], "soilTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "soilMoisture", "value", NUM).unit("%"),
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
        &["SMOKE_DETECTOR_CHANNEL"],
        "smokeAlarm",
        "smokeDetectorAlarmType",
        "sensor.alarm.fire",
        &SMOKE_ALARM,
    ),
    FieldRow::new(&[], "chamberDegraded", "indicator.maintenance", BOOL),
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
    // Door locks: type-detector's lock needs a writable boolean `switch.lock`
    // (true = unlocked), derived from `lockState`; `setLockState` keeps every target.
    FieldRow::new(&[], "lockState", "text", STR).states(LOCK_STATES),
    FieldRow::new(&[], "motorState", "text", STR).states(&["STOPPED", "CLOSING", "OPENING"]),
    FieldRow::flag(LOCKS, "unlocked", "lockState", "switch.lock", &UNLOCKED)
        .write_as("device/control/setLockState", "targetLockState")
        .params(&[("authorizationPin", "pin")]),
    FieldRow::command(
        LOCKS,
        "setLockState",
        "text",
        STR,
        "device/control/setLockState",
        "targetLockState",
    )
    .states(TARGET_LOCK_STATES)
    .params(&[("authorizationPin", "pin")]),
    // The PIN of the access profile; a lock without one takes "".
    FieldRow::param(LOCKS, "pin", "state", STR).default(""),
    FieldRow::param(&["ACCESS_AUTHORIZATION_CHANNEL"], "pin", "state", STR).default(""),
    FieldRow::button(
        &["ACCESS_AUTHORIZATION_CHANNEL"],
        "pullLatch",
        "device/control/pullLatch",
    )
    .params(&[("authorizationPin", "pin")]),
    FieldRow::new(&[], "autoRelockDelay", "value.interval", NUM).unit("s"),
    // Garage doors: the command keeps ioBroker.hmip's numbers (0 OPEN, 1 STOP, 2 CLOSE,
    // 3 partly open), sent as the cloud's names.
    FieldRow::new(&["DOOR_CHANNEL"], "doorState", "text", STR).states(&[
        "CLOSED",
        "OPEN",
        "VENTILATION_POSITION",
        "POSITION_UNKNOWN",
    ]),
    FieldRow::command(
        &["DOOR_CHANNEL"],
        "doorCommand",
        ACTION,
        NUM,
        "device/control/sendDoorCommand",
        "doorCommand",
    )
    .indexed(&["OPEN", "STOP", "CLOSE", "PARTIAL_OPEN"]),
    FieldRow::button(
        IMPULSE_OUTPUTS,
        "startImpulse",
        "device/control/startImpulse",
    ),
    FieldRow::new(&[], "impulseDuration", "value.interval", NUM).unit("s"),
    // Energy.
    FieldRow::new(&[], "currentPowerConsumption", "value.power", NUM).unit("W"),
    FieldRow::new(&[], "energyCounter", "value.energy", NUM).unit("kWh"),
    FieldRow::new(&[], "energyCounterOne", "value.energy", NUM).unit("kWh"),
    FieldRow::new(&[], "energyCounterTwo", "value.energy", NUM).unit("kWh"),
    FieldRow::new(&[], "energyCounterThree", "value.energy", NUM).unit("kWh"),
    FieldRow::button(
        &["SWITCH_MEASURING_CHANNEL"],
        "resetEnergyCounter",
        "device/control/resetEnergyCounter",
    ),
    // Passage detector.
    FieldRow::new(&[], "leftCounter", "value", NUM),
    FieldRow::new(&[], "rightCounter", "value", NUM),
    FieldRow::new(&[], "passageDirection", "text", STR).states(&["LEFT", "RIGHT"]),
    FieldRow::button(
        &["PASSAGE_DETECTOR_CHANNEL"],
        "resetPassageCounter",
        "device/control/resetPassageCounter",
    ),
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
    // Weather sensors: temperature and humidity above make type-detector's temperature.
    FieldRow::new(&[], "raining", "sensor.rain", BOOL),
    FieldRow::new(WEATHER, "windSpeed", "value.speed.wind", NUM).unit("km/h"),
    FieldRow::new(WEATHER, "windDirection", "value.direction.wind", NUM).unit("°"),
    FieldRow::new(&[], "windDirectionVariation", "value", NUM).unit("°"),
    FieldRow::new(&[], "windValueType", "text", STR).states(&[
        "CURRENT_VALUE",
        "MIN_VALUE",
        "MAX_VALUE",
        "AVERAGE_VALUE",
    ]),
    FieldRow::new(&[], "todayRainCounter", "value.rain.today", NUM).unit("mm"),
    FieldRow::new(&[], "yesterdayRainCounter", "value.rain", NUM).unit("mm"),
    FieldRow::new(&[], "totalRainCounter", "value.rain", NUM).unit("mm"),
    FieldRow::new(&[], "todaySunshineDuration", "value", NUM).unit("min"),
    FieldRow::new(&[], "yesterdaySunshineDuration", "value", NUM).unit("min"),
    FieldRow::new(&[], "totalSunshineDuration", "value", NUM).unit("min"),
    FieldRow::new(&[], "illuminationThresholdSunshine", "value", NUM).unit("lux"),
    // Mains failure.
    FieldRow::new(&[], "powerMainsFailure", "sensor.alarm.power", BOOL),
    FieldRow::new(&[], "genericAlarmSignal", "text", STR).states(&[
        "NO_ALARM",
        "SILENT_ALARM",
        "FULL_ALARM",
    ]),
];

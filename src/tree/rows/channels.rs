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
    "EXTERNAL_SWITCH_CHANNEL",
    // The siren's `on` (ioBroker.hmip 3.x switches it through `setSwitchState`).
    "ALARM_SIREN_CHANNEL",
];
/// Light channels: `on` is `switch.light`, so type-detector's dimmer takes it as its
/// ON switch instead of leaving it over as a second, socket-like device.
const LIGHTS: &[&str] = &[
    "DIMMER_CHANNEL",
    "UNIVERSAL_LIGHT_CHANNEL",
    "UNIVERSAL_LIGHT_GROUP_CHANNEL",
    "EXTERNAL_UNIVERSAL_LIGHT_CHANNEL",
    "NOTIFICATION_LIGHT_CHANNEL",
    "OPTICAL_SIGNAL_CHANNEL",
    // The 0-10 V actuator (HmIP-WUA) dims and switches like a dimmer (homematicip and
    // ioBroker.hmip 3.x send `setDimLevel` / `setSwitchState`); its ventilation level
    // has rows of its own.
    "UNIVERSAL_ACTUATOR_CHANNEL",
];
/// Lights that start the scenes stored in them (`startLightScene`).
const SCENE_LIGHTS: &[&str] = &["UNIVERSAL_LIGHT_CHANNEL", "UNIVERSAL_LIGHT_GROUP_CHANNEL"];
const WHITE_LIGHTS: &[&str] = &[
    "UNIVERSAL_LIGHT_CHANNEL",
    "UNIVERSAL_LIGHT_GROUP_CHANNEL",
    "EXTERNAL_UNIVERSAL_LIGHT_CHANNEL",
];
/// Lights with one of eight fixed colours.
const SIGNAL_LIGHTS: &[&str] = &["NOTIFICATION_LIGHT_CHANNEL", "OPTICAL_SIGNAL_CHANNEL"];
/// Shutters, blinds and other covers: type-detector's blind through `level.blind`. The
/// tubular drive and the window drive report `shutterLevel` like a shutter; no client
/// sends a call for them yet (homematicip 2.19.1: "the tubular drive has no commands
/// yet"), so they take the shutter's calls, the only ones the cloud has for a level.
const SHUTTERS: &[&str] = &[
    "SHUTTER_CHANNEL",
    "BLIND_CHANNEL",
    "GENERIC_WINDOW_COVERING_CHANNEL",
    "TUBULAR_DRIVE_CHANNEL",
    "WINDOW_DRIVE_CHANNEL",
];
const BLINDS: &[&str] = &["BLIND_CHANNEL", "GENERIC_WINDOW_COVERING_CHANNEL"];
const SHADINGS: &[&str] = &["SHADING_CHANNEL"];
const THERMOSTATS: &[&str] = &[
    "HEATING_THERMOSTAT_CHANNEL",
    "WALL_MOUNTED_THERMOSTAT_PRO_CHANNEL",
    "ANALOG_ROOM_CONTROL_CHANNEL",
];
const CLIMATE_DISPLAYS: &[&str] = &["WALL_MOUNTED_THERMOSTAT_PRO_CHANNEL"];
/// Contacts whose `windowState` knows no TILTED in practice: type-detector's window,
/// through the boolean `windowOpen` (`sensor.window`).
const CONTACTS: &[&str] = &[
    "SHUTTER_CONTACT_CHANNEL",
    "MULTI_MODE_INPUT_CHANNEL",
    "GENERIC_CONTACT_SENSOR_CHANNEL",
];
/// Window handles: type-detector's windowTilt, through `windowState` as `value.window`.
const HANDLES: &[&str] = &["ROTARY_HANDLE_CHANNEL"];
const LOCKS: &[&str] = &["DOOR_LOCK_CHANNEL"];
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
const WEATHER: &[&str] = &["WEATHER_SENSOR_CHANNEL", "GENERIC_CLIMATE_SENSOR_CHANNEL"];
/// Channel 0 of a device, whose channel class has homematicip's `set_identify`: the
/// device blinks or beeps. The other channel 0 types (`DeviceBaseChannel`'s subclasses)
/// are `like` it in the catalog.
const IDENTIFIABLE: &[&str] = &["DEVICE_BASE"];
/// Glass displays: channel 0 (`DEVICE_GLASS_DISPLAY`) and their tiles.
const GLASS_DISPLAYS: &[&str] = &["DEVICE_GLASS_DISPLAY"];
const TILES: &[&str] = &["INPUT_TILE_DISPLAY_CHANNEL"];
const MP3: &[&str] = &["NOTIFICATION_MP3_SOUND_CHANNEL"];
const SIMPLE_RGB_COLORS: &[&str] = &[
    "BLACK",
    "BLUE",
    "GREEN",
    "TURQUOISE",
    "RED",
    "PURPLE",
    "YELLOW",
    "WHITE",
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
/// Actuators with a ventilation level and state that the cloud sets
/// (`setVentilationLevel`, `setVentilationState`: homematicip 2.19.1).
const VENTILATORS: &[&str] = &["UNIVERSAL_ACTUATOR_CHANNEL"];
const VENTILATION_STATES: &[&str] = &["VENTILATION", "NO_VENTILATION"];
/// The same as a fan mode: 0 off, 1 ventilating.
const VENTILATION_MODES: &[&str] = &["NO_VENTILATION", "VENTILATION"];
/// Energy meters of other makes and the French Linky interface.
const ENERGY_METERS: &[&str] = &[
    "GENERIC_ENERGY_METER_CHANNEL",
    "ENERGY_SENSORS_INTERFACE_LINKY_CHANNEL",
];
/// Channels of devices paired through a partner system (HCU plug-ins): the partner's id.
const EXTERNAL: &[&str] = &[
    "EXTERNAL_CAMERA_CHANNEL",
    "EXTERNAL_SWITCH_CHANNEL",
    "EXTERNAL_UNIVERSAL_LIGHT_CHANNEL",
    "GENERIC_CONTACT_SENSOR_CHANNEL",
    "GENERIC_ENERGY_METER_CHANNEL",
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
    // Identify: the device blinks or beeps so that a user finds it.
    FieldRow::button(IDENTIFIABLE, "identify", "device/control/setIdentify"),
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
    // The timed variants of the colour calls, with the on-time and ramp-time parameters
    // as `setDimLevelWithTime` takes them (homematicip and ioBroker.hmip 3.x send them).
    FieldRow::command(
        WHITE_LIGHTS,
        "setColorTemperatureWithTime",
        ACTION,
        NUM,
        "device/control/setColorTemperatureDimLevelWithTime",
        "colorTemperature",
    )
    .unit("K")
    .along(&["dimLevel"])
    .params(&[("onTime", "controlOnTime"), ("rampTime", "controlRampTime")]),
    FieldRow::command(
        WHITE_LIGHTS,
        "setHueWithTime",
        ACTION,
        NUM,
        "device/control/setHueSaturationDimLevelWithTime",
        "hue",
    )
    .unit("°")
    .range(0.0, 360.0)
    .along(&["saturationLevel", "dimLevel"])
    .params(&[("onTime", "controlOnTime"), ("rampTime", "controlRampTime")]),
    FieldRow::command(
        SIGNAL_LIGHTS,
        "setSimpleRGBColorWithTime",
        "text",
        STR,
        "device/control/setSimpleRGBColorDimLevelWithTime",
        "simpleRGBColorState",
    )
    .states(SIMPLE_RGB_COLORS)
    .along(&["dimLevel"])
    .params(&[("onTime", "controlOnTime"), ("rampTime", "controlRampTime")]),
    FieldRow::command(
        SIGNAL_LIGHTS,
        "setOpticalSignalWithTime",
        "text",
        STR,
        "device/control/setOpticalSignalWithTime",
        "opticalSignalBehaviour",
    )
    .states(&[
        "ON",
        "OFF",
        "BLINKING_MIDDLE",
        "FLASH_MIDDLE",
        "BILLOW_MIDDLE",
    ])
    .along(&["simpleRGBColorState", "dimLevel"])
    .params(&[("onTime", "controlOnTime"), ("rampTime", "controlRampTime")]),
    // A light scene by its number, at the light's current level (`startLightScene`
    // takes both). A neutral role: the number names a scene, it is no level.
    FieldRow::new(SCENE_LIGHTS, "lightSceneId", "state", NUM)
        .write_as("device/control/startLightScene", "id")
        .along(&["dimLevel"]),
    // The MP3 chime (HmIP-MP3P): sound file and volume go together, and so do its
    // light's colour and level.
    FieldRow::new(MP3, "soundFile", "text", STR)
        .write("device/control/setSoundFileVolumeLevel")
        .along(&["volumeLevel"]),
    FieldRow::new(MP3, "volumeLevel", "level.volume", NUM)
        .percent()
        .write("device/control/setSoundFileVolumeLevel")
        .along(&["soundFile"]),
    FieldRow::new(MP3, "simpleRGBColorState", "text", STR)
        .states(SIMPLE_RGB_COLORS)
        .write("device/control/setSimpleRGBColorDimLevel")
        .along(&["dimLevel"]),
    FieldRow::new(MP3, "dimLevel", "level.dimmer", NUM)
        .percent()
        .write("device/control/setSimpleRGBColorDimLevel")
        .along(&["simpleRGBColorState"]),
    // The 0-10 V actuator as a ventilation controller: type-detector's fan needs its mode
    // as a writable number (`level.mode.fan`, derived from `ventilationState`, which keeps
    // ioBroker.hmip's string) and takes the level as its speed (`level.speed`).
    FieldRow::new(VENTILATORS, "ventilationLevel", "level.speed", NUM)
        .percent()
        .write("device/control/setVentilationLevel"),
    FieldRow::new(VENTILATORS, "ventilationState", "text", STR)
        .states(VENTILATION_STATES)
        .write("device/control/setVentilationState"),
    FieldRow {
        source: Some("ventilationState"),
        ..FieldRow::new(VENTILATORS, "ventilationMode", "level.mode.fan", NUM)
            .indexed(VENTILATION_MODES)
            .write_as("device/control/setVentilationState", "ventilationState")
    },
    // The ventilation family of the wired system (HmIP-WVC, flow regulators, fans) has
    // no client that controls it yet: its levels read as such.
    FieldRow::new(&[], "ventilationLevel", "value", NUM).percent(),
    FieldRow::new(&[], "ventilationState", "text", STR).states(VENTILATION_STATES),
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
    // The tubular drive's end positions and obstacle detection.
    FieldRow::new(&[], "topPositionSet", "indicator", BOOL),
    FieldRow::new(&[], "bottomPositionSet", "indicator", BOOL),
    FieldRow::new(&[], "obstacleDetectedError", "indicator.maintenance", BOOL),
    FieldRow::new(&[], "favoriteSecondaryShadingPosition", "value", NUM).open_percent(),
    // Thermostats: the set point is written through the channel's HEATING group (the
    // cloud has no device call for it); `level.temperature` + `value.temperature` make
    // type-detector's thermostat.
    FieldRow::new(THERMOSTATS, "setPointTemperature", "level.temperature", NUM)
        .unit("°C")
        .range(5.0, 30.0)
        .write("group/heating/setSetPointTemperature")
        .via_group("HEATING"),
    // A partner system's thermostat reports its set point but takes none (ioBroker.hmip
    // 3.x: read-only); a set point is no reading, hence plain `value`.
    FieldRow::new(
        &["GENERIC_THERMOSTAT_CHANNEL"],
        "setPointTemperature",
        "value",
        NUM,
    )
    .unit("°C"),
    FieldRow::new(&[], "actualTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "airPressure", "value.pressure", NUM).unit("hPa"),
    FieldRow::new(&[], "supplyTemperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(&[], "heatingTemperatureOffset", "value", NUM).unit("°C"),
    FieldRow::new(&[], "coolingTemperatureOffset", "value", NUM).unit("°C"),
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
        &["SMOKE_DETECTOR_CHANNEL", "GENERIC_SMOKE_ALARM_CHANNEL"],
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
    // A door held released ("always open"): true = released (homematicip's polarity).
    // The door switch takes the plain call; the access authorization channel the one
    // with its PIN (a client outside the authorization needs it).
    FieldRow::new(
        &["DOOR_SWITCH_CHANNEL"],
        "doorLockActive",
        "switch.enable",
        BOOL,
    )
    .write("device/control/setDoorLockActive"),
    FieldRow::command(
        &["ACCESS_AUTHORIZATION_CHANNEL"],
        "setDoorLockActive",
        ACTION_BOOL,
        BOOL,
        "device/control/setDoorLockActiveWithAuthorization",
        "doorLockActive",
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
    FieldRow::new(&[], "storm", "indicator", BOOL),
    FieldRow::new(&[], "sunshine", "indicator", BOOL),
    // The ultrasonic distance sensor (a cistern's fill level): heights in cm.
    FieldRow::new(&[], "distance", "value.distance", NUM).unit("cm"),
    FieldRow::new(&[], "calculatedHeight", "value", NUM).unit("cm"),
    FieldRow::new(&[], "referenceHeight", "value", NUM).unit("cm"),
    FieldRow::new(&[], "heightActivated", "indicator", BOOL),
    FieldRow::new(&[], "measuringInterval", "value", NUM).unit("min"),
    FieldRow::new(&[], "distanceSensorVoltage", "text", STR),
    // A number read by a sensor interface: the raw value and the converted one (its
    // unit is a field of its own, so the state has none).
    FieldRow::new(&[], "convertedValue", "value", NUM),
    FieldRow::new(&[], "rawValue", "value", NUM),
    FieldRow::new(&["NUMBER_VALUE_SENSOR_CHANNEL"], "factor", "value", NUM),
    FieldRow::new(&["NUMBER_VALUE_SENSOR_CHANNEL"], "offset", "value", NUM),
    FieldRow::new(
        &["NUMBER_VALUE_SENSOR_CHANNEL"],
        "decimalPlaces",
        "value",
        NUM,
    ),
    FieldRow::new(&["NUMBER_VALUE_SENSOR_CHANNEL"], "unit", "text", STR),
    // Glass displays: display settings on channel 0, and one channel per tile.
    FieldRow::new(GLASS_DISPLAYS, "displayBacklightDuration", "value", NUM),
    FieldRow::new(GLASS_DISPLAYS, "displayBacklightOffset", "value", NUM),
    FieldRow::new(GLASS_DISPLAYS, "displayLanguage", "text", STR),
    FieldRow::new(GLASS_DISPLAYS, "detectionRange", "value", NUM),
    FieldRow::new(TILES, "displayMainText", "text", STR),
    FieldRow::new(TILES, "displaySubText", "text", STR),
    FieldRow::new(TILES, "tileFunction", "text", STR),
    FieldRow::new(TILES, "controlRepresentation", "text", STR),
    FieldRow::new(TILES, "tileIndex", "value", NUM),
    FieldRow::new(TILES, "screenIndex", "value", NUM),
    FieldRow::new(TILES, "inputTileBaseImageId", "value", NUM),
    FieldRow::new(TILES, "slatsViewPrefered", "indicator", BOOL),
    // Devices of partner systems: the partner's id of the channel, and what they report.
    FieldRow::new(EXTERNAL, "channelId", "text", STR),
    FieldRow::new(&[], "doorBellLabel", "text", STR),
    FieldRow::new(&[], "doorBellSensorEventTimestamp", "value.time", NUM),
    FieldRow::new(&[], "fingerprintSensorEventTimestamp", "value.time", NUM),
    FieldRow::new(&[], "keyCodeEventTimestamp", "value.time", NUM),
    FieldRow::new(&[], "qrCodeEventTimestamp", "value.time", NUM),
    FieldRow::new(&[], "remoteControlEventTimestamp", "value.time", NUM),
    FieldRow::new(&[], "transponderEventTimestamp", "value.time", NUM),
    FieldRow::new(&[], "accessEventRegistrationStatus", "text", STR),
    FieldRow::new(&[], "climateOperationMode", "text", STR),
    FieldRow::new(&[], "presenceMode", "text", STR),
    FieldRow::new(&[], "motionDetectedByCamera", "sensor.motion", BOOL),
    FieldRow::new(&[], "noiseDetected", "indicator", BOOL),
    FieldRow::new(&[], "triggered", "indicator", BOOL),
    // Energy meters, batteries and wall boxes of other makes, and the Linky interface.
    FieldRow::new(ENERGY_METERS, "energyCounterOneType", "text", STR),
    FieldRow::new(ENERGY_METERS, "energyCounterTwoType", "text", STR),
    FieldRow::new(&[], "batteryLevel", "value.battery", NUM)
        .unit("%")
        .range(0.0, 100.0),
    FieldRow::new(&[], "batteryCapacity", "value", NUM).unit("Wh"),
    FieldRow::new(&[], "deviceConsumptionCurtailed", "indicator", BOOL),
    FieldRow::new(&[], "deviceProductionCurtailed", "indicator", BOOL),
    // Curtailment targets and ends: no payload has carried one yet (ioBroker.hmip 3.x
    // marks them assumed), so no unit is claimed.
    FieldRow::new(&[], "deviceConsumptionCurtailmentTarget", "value", NUM),
    FieldRow::new(&[], "deviceProductionCurtailmentTarget", "value", NUM),
    FieldRow::new(&[], "deviceConsumptionCurtailmentEnd", "value", NUM),
    FieldRow::new(&[], "deviceProductionCurtailmentEnd", "value", NUM),
    // Mains failure.
    FieldRow::new(&[], "powerMainsFailure", "sensor.alarm.power", BOOL),
    FieldRow::new(&[], "genericAlarmSignal", "text", STR).states(&[
        "NO_ALARM",
        "SILENT_ALARM",
        "FULL_ALARM",
    ]),
];

//! Switches, lights (dimmers, white and colour lights, signal lights, light scenes) and
//! the MP3 chime.

use super::super::{ACTION, BOOL, NUM, STR};
use crate::tree::table::FieldRow;

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

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
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
        .states(SIMPLE_RGB_COLORS)
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
    // Dimmer settings: the level after a power failure, the lowest level when on.
    FieldRow::new(&[], "powerUpDimLevel", "value", NUM).percent(),
    FieldRow::new(&[], "onMinLevel", "value", NUM).percent(),
];

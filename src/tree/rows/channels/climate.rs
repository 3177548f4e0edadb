//! Climate: the 0-10 V actuator's and the wired system's ventilation, thermostats and
//! climate sensors, weather sensors.

use super::super::{BOOL, NUM, STR};
use crate::tree::table::FieldRow;

/// Actuators with a ventilation level and state that the cloud sets
/// (`setVentilationLevel`, `setVentilationState`: homematicip 2.19.1).
const VENTILATORS: &[&str] = &["UNIVERSAL_ACTUATOR_CHANNEL"];
const VENTILATION_STATES: &[&str] = &["VENTILATION", "NO_VENTILATION"];
/// The same as a fan mode: 0 off, 1 ventilating.
const VENTILATION_MODES: &[&str] = &["NO_VENTILATION", "VENTILATION"];
const THERMOSTATS: &[&str] = &[
    "HEATING_THERMOSTAT_CHANNEL",
    "WALL_MOUNTED_THERMOSTAT_PRO_CHANNEL",
    "ANALOG_ROOM_CONTROL_CHANNEL",
];
const CLIMATE_DISPLAYS: &[&str] = &["WALL_MOUNTED_THERMOSTAT_PRO_CHANNEL"];
const WEATHER: &[&str] = &["WEATHER_SENSOR_CHANNEL", "GENERIC_CLIMATE_SENSOR_CHANNEL"];

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
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
];

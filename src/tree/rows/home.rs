//! Rows for the home: `types` name the section — `home` for the home's own fields,
//! `weather`, `location`, … for its nested objects, and the solution
//! (`INDOOR_CLIMATE`, `SECURITY_AND_ALARM`, …) for a functional home. Home calls carry
//! no ids.

use super::{ACTION, ACTION_BOOL, BOOL, NUM, STR};
use crate::tree::table::FieldRow;

const HOME: &[&str] = &["home"];
const WEATHER: &[&str] = &["weather"];
const CLIMATE: &[&str] = &["INDOOR_CLIMATE"];
const SECURITY: &[&str] = &["SECURITY_AND_ALARM"];

/// Rows for the home and its sections.
pub static HOME_ROWS: &[FieldRow] = &[
    FieldRow::new(HOME, "connected", "indicator.reachable", BOOL),
    FieldRow::new(HOME, "dutyCycle", "value", NUM).unit("%"),
    FieldRow::new(HOME, "powerMeterUnitPrice", "level", NUM)
        .range(0.0, 1000.0)
        .write("home/setPowerMeterUnitPrice"),
    FieldRow::new(HOME, "lastReadyForUpdateTimestamp", "value.time", NUM),
    // The home's time zone (an IANA name), as homematicip 2.19.1 sets it.
    FieldRow::new(HOME, "timeZoneId", "text", STR).write_as("home/setTimezone", "timezoneId"),
    // Weather: type-detector's temperature (with humidity).
    FieldRow::new(WEATHER, "temperature", "value.temperature", NUM).unit("°C"),
    FieldRow::new(WEATHER, "minTemperature", "value.temperature.min", NUM).unit("°C"),
    FieldRow::new(WEATHER, "maxTemperature", "value.temperature.max", NUM).unit("°C"),
    FieldRow::new(WEATHER, "humidity", "value.humidity", NUM)
        .unit("%")
        .range(0.0, 100.0),
    FieldRow::new(WEATHER, "vaporAmount", "value.humidity.absolute", NUM).unit("g/m³"),
    FieldRow::new(WEATHER, "windSpeed", "value.speed.wind", NUM).unit("km/h"),
    FieldRow::new(WEATHER, "windDirection", "value.direction.wind", NUM).unit("°"),
    FieldRow::new(WEATHER, "weatherCondition", "text", STR),
    FieldRow::new(WEATHER, "weatherDayTime", "text", STR).states(&["DAY", "TWILIGHT", "NIGHT"]),
    // Indoor climate: absence and vacation (ioBroker.hmip's action states).
    FieldRow::new(CLIMATE, "absenceType", "text", STR).states(&[
        "NOT_ABSENT",
        "PERIOD",
        "PERMANENT",
        "VACATION",
        "PARTY",
    ]),
    FieldRow::new(CLIMATE, "ecoTemperature", "value", NUM).unit("°C"),
    FieldRow::button(
        CLIMATE,
        "activateAbsencePermanent",
        "home/heating/activateAbsencePermanent",
    ),
    // Minutes, as the cloud takes them (ioBroker.hmip had a string here).
    FieldRow::command(
        CLIMATE,
        "setAbsenceDuration",
        ACTION,
        NUM,
        "home/heating/activateAbsenceWithDuration",
        "duration",
    )
    .unit("min")
    .range(1.0, 525_600.0),
    // "YYYY_MM_DD HH:MM", as the cloud takes it.
    FieldRow::command(
        CLIMATE,
        "setAbsenceEndTime",
        "text",
        STR,
        "home/heating/activateAbsenceWithPeriod",
        "endTime",
    ),
    FieldRow::button(
        CLIMATE,
        "deactivateAbsence",
        "home/heating/deactivateAbsence",
    ),
    // The vacation temperature is a setting (`level.setting.*`), so the indoor-climate
    // channel is not taken for a thermostat.
    FieldRow::param(
        CLIMATE,
        "vacationTemperature",
        "level.setting.temperature",
        NUM,
    )
    .unit("°C")
    .range(5.0, 30.0),
    FieldRow::command(
        CLIMATE,
        "activateVacationWithEndTime",
        "text",
        STR,
        "home/heating/activateVacation",
        "endTime",
    )
    .params(&[("temperature", "vacationTemperature")]),
    FieldRow::button(
        CLIMATE,
        "deactivateVacation",
        "home/heating/deactivateVacation",
    ),
    // Whether the home may cool at all (ioBroker.hmip 3.x's writable `coolingEnabled`).
    FieldRow::new(CLIMATE, "coolingEnabled", "switch.enable", BOOL)
        .write("home/heating/setCoolingEnabled"),
    FieldRow::command(
        CLIMATE,
        "setCooling",
        ACTION_BOOL,
        BOOL,
        "home/heating/setCooling",
        "cooling",
    ),
    // Security and alarm (the mode, arming and ioBroker.hmip's zone states are in
    // `tree::alarm`).
    FieldRow::command(
        SECURITY,
        "setIntrusionAlertThroughSmokeDetectors",
        ACTION_BOOL,
        BOOL,
        "home/security/setIntrusionAlertThroughSmokeDetectors",
        "intrusionAlertThroughSmokeDetectors",
    ),
    FieldRow::new(SECURITY, "alarmEventTimestamp", "value.time", NUM),
    FieldRow::new(SECURITY, "zoneActivationDelay", "value.interval", NUM).unit("s"),
    // The alarm is going off. `sensor.alarm.secure` is ioBroker's role for exactly this
    // ("door opened, window opened or motion detected during alarm is ON"): a read-only
    // boolean sensor in its role list that the repository checker knows, and no
    // type-detector pattern takes it (its window and door patterns match a `sensor` role
    // only for a window or door role or room enum), so the home is not mistaken for a
    // contact. `indicator.alarm` says less: any alarm-ish flag.
    FieldRow::new(SECURITY, "alarmActive", "sensor.alarm.secure", BOOL),
];

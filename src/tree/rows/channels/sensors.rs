//! Other sensors: the passage detector, the distance sensor and a sensor interface's
//! number.

use super::super::{BOOL, NUM, STR};
use crate::tree::table::FieldRow;

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
    // Passage detector.
    FieldRow::new(&[], "leftCounter", "value", NUM),
    FieldRow::new(&[], "rightCounter", "value", NUM),
    FieldRow::new(&[], "passageDirection", "text", STR).states(&["LEFT", "RIGHT"]),
    FieldRow::button(
        &["PASSAGE_DETECTOR_CHANNEL"],
        "resetPassageCounter",
        "device/control/resetPassageCounter",
    ),
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
];

//! Energy: measuring switches, and the meters, batteries and wall boxes of other makes.

use super::super::{BOOL, NUM, STR};
use crate::tree::table::FieldRow;

/// Energy meters of other makes and the French Linky interface (batteries, wall boxes and
/// smart meter gateways are `like` the Linky interface in the catalog).
const ENERGY_METERS: &[&str] = &[
    "GENERIC_ENERGY_METER_CHANNEL",
    "ENERGY_SENSORS_INTERFACE_LINKY_CHANNEL",
];

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
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
];

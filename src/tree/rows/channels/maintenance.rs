//! Maintenance and settings of every device's channel 0, and identify.

use super::super::{BOOL, NUM, PROFILE_MODES, STR};
use crate::tree::table::FieldRow;

/// Channel 0 of a device, whose channel class has homematicip's `set_identify`: the
/// device blinks or beeps. The other channel 0 types (`DeviceBaseChannel`'s subclasses)
/// are `like` it in the catalog.
const IDENTIFIABLE: &[&str] = &["DEVICE_BASE"];

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
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
];

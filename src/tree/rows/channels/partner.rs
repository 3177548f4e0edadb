//! Devices of partner systems (HCU plug-ins): the partner's id of the channel, and what
//! they report.

use super::super::{BOOL, NUM, STR};
use crate::tree::table::FieldRow;

/// Channels of devices paired through a partner system (HCU plug-ins): the partner's id.
const EXTERNAL: &[&str] = &[
    "EXTERNAL_CAMERA_CHANNEL",
    "EXTERNAL_SWITCH_CHANNEL",
    "EXTERNAL_UNIVERSAL_LIGHT_CHANNEL",
    "GENERIC_CONTACT_SENSOR_CHANNEL",
    "GENERIC_ENERGY_METER_CHANNEL",
];

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
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
];

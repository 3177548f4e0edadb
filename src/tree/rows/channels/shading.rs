//! Shutters, blinds, window coverings and shadings.

use super::super::{BOOL, NUM};
use crate::tree::table::FieldRow;

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

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
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
];

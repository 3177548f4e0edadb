//! Glass displays: display settings on channel 0, and one channel per tile.

use super::super::{BOOL, NUM, STR};
use crate::tree::table::FieldRow;

/// Glass displays: channel 0 (`DEVICE_GLASS_DISPLAY`) and their tiles.
const GLASS_DISPLAYS: &[&str] = &["DEVICE_GLASS_DISPLAY"];
const TILES: &[&str] = &["INPUT_TILE_DISPLAY_CHANNEL"];

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
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
];

//! Door locks, access authorization, door switches, garage doors and impulse outputs.

use super::super::{ACTION, ACTION_BOOL, BOOL, NUM, STR};
use crate::tree::table::{FieldRow, Flag};

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
const IMPULSE_OUTPUTS: &[&str] = &["IMPULSE_OUTPUT_CHANNEL", "DOOR_SWITCH_CHANNEL"];

/// The rows, in table order.
pub(super) const ROWS: &[FieldRow] = &[
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
    // The PIN of the access profile; a lock without one takes "". It opens a door: kept
    // where the tokens are, the state shows only whether one is set.
    FieldRow::param(LOCKS, "pin", "state", STR)
        .default("")
        .secret(),
    FieldRow::param(&["ACCESS_AUTHORIZATION_CHANNEL"], "pin", "state", STR)
        .default("")
        .secret(),
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
];

//! docs/states.md, generated from the mapping itself so it never drifts: for every
//! channel type, group type and home section of a home, the states the tree creates,
//! with role, type, unit, range or states, and for writable ones the control call.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::table::{self, FieldRow, Kind};
use super::{alarm, events, CHANNEL_ROWS, GROUP_ROWS, HOME_ROWS, HOME_SECTION};
use crate::cloud::CurrentState;
use crate::iobroker::IobObject;

/// One line of a section: a state and how it is mapped.
struct Line {
    field: String,
    common: serde_json::Map<String, Value>,
    write: String,
}

/// The write column: the call, or "local" for a parameter.
fn write_column(row: Option<&FieldRow>, ids: &str) -> String {
    let Some(row) = row else { return String::new() };
    if row.kind == Kind::Param && row.role.starts_with("button") {
        return "written on every event; a write re-fires it locally".into();
    }
    if row.kind == Kind::Param && row.secret {
        return "kept by the adapter where its tokens are (a secret: the state shows **** when set)".into();
    }
    if row.kind == Kind::Param {
        return "kept by the adapter (parameter)".into();
    }
    let Some(c) = row.control else {
        return String::new();
    };
    let mut keys: Vec<String> = Vec::new();
    match c.via_group {
        Some(group_type) => keys.push(format!(
            "groupId of its {group_type} group (read-only without one)"
        )),
        None if !ids.is_empty() => keys.push(ids.to_string()),
        None => {}
    }
    if let Some(k) = c.key {
        keys.push(k.to_string());
    }
    keys.extend(c.along.iter().map(|a| format!("{a} (current)")));
    keys.extend(c.params.iter().map(|(k, p)| format!("{k} (from {p})")));
    keys.extend(c.fixed.iter().map(|(k, v)| format!("{k}: {v}")));
    format!("`{}` {{{}}}", c.path, keys.join(", "))
}

fn cell(common: &serde_json::Map<String, Value>, key: &str) -> String {
    match common.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn range_or_states(common: &serde_json::Map<String, Value>) -> String {
    if let Some(Value::Object(states)) = common.get("states") {
        let label = |k: &String, v: &Value| match v.as_str() {
            Some(l) if l != k => format!("{k} {l}"),
            _ => k.clone(),
        };
        return states
            .iter()
            .map(|(k, v)| label(k, v))
            .collect::<Vec<_>>()
            .join(", ");
    }
    match (common.get("min"), common.get("max")) {
        (Some(a), Some(b)) => format!("{a}..{b}"),
        _ => String::new(),
    }
}

/// Collect the state lines of objects below `parent` (direct children only).
fn lines_of(
    objects: &[IobObject],
    parent: &str,
    rows: &'static [FieldRow],
    type_name: &str,
    ids: &str,
    into: &mut BTreeMap<String, Line>,
) {
    for o in objects.iter().filter(|o| o.obj_type == "state") {
        let Some(field) = o.id.strip_prefix(parent).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        // The first channel of a type stands for all, but a writable variant wins (a
        // thermostat's set point is writable only in a heating group).
        let writable = o.common.get("write") == Some(&Value::Bool(true));
        if field.contains('.')
            || into
                .get(field)
                .is_some_and(|l| !(writable && l.common.get("write") != Some(&Value::Bool(true))))
        {
            continue;
        }
        let row = table::find(rows, type_name, field)
            .or_else(|| table::find(events::EVENT_ROWS, "", field));
        let alarm_row = (type_name == alarm::SOLUTION)
            .then(|| alarm::row(field))
            .flatten();
        let row = alarm_row.or(row);
        let write = match alarm_row.map(|_| alarm::doc_write(field)) {
            Some(Some(w)) => w.to_string(),
            _ => write_column(row, ids),
        };
        into.insert(
            field.to_string(),
            Line {
                field: field.to_string(),
                common: o.common.clone(),
                write,
            },
        );
    }
}

fn table_of(out: &mut String, lines: &BTreeMap<String, Line>) {
    out.push_str(
        "| state | role | type | unit | range / states | write |\n|---|---|---|---|---|---|\n",
    );
    for l in lines.values() {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            l.field,
            cell(&l.common, "role"),
            cell(&l.common, "type"),
            cell(&l.common, "unit"),
            range_or_states(&l.common),
            l.write
        );
    }
    out.push('\n');
}

/// The whole document for the homes given (the project documents its two fixtures: the
/// 150-device home of 2023 and its own 2026 home, with every newer type). A type found in
/// several homes is one section, with the states of all of them; the home sections come
/// from the first home.
pub fn states_doc(homes: &[&CurrentState]) -> String {
    const NS: &str = "hmip.0";
    let state = homes[0];
    let mut out = String::from(
        "# States\n\n<!-- generated from src/tree by `UPDATE_DOCS=1 cargo test states_doc`; do not edit -->\n\n\
         Every state the adapter creates, per channel type, group type and home section, as mapped for \
         the 150-device test fixture (tests/fixtures/home.json) and the project's 2026 home \
         (tests/fixtures/home-2026.json: one device of every newer device type). Fields the cloud sends that no table row \
         names still appear, with an inferred type and a neutral role; they are listed too. Levels are \
         0..100 %; `shutterLevel` and `slatsLevel` read 100 % when fully open (ioBroker's convention for \
         `level.blind`). Write-only states (buttons, commands) have no value until written. Control calls \
         are `POST /hmip/<path>` with the listed body keys; device calls carry `deviceId, channelIndex`, \
         group calls `groupId`.\n\n",
    );

    // Device channels, by channel type.
    let mut by_type: BTreeMap<String, (BTreeMap<String, Line>, Vec<String>)> = BTreeMap::new();
    for d in homes
        .iter()
        .flat_map(|h| h.devices.values().map(move |d| (h, d)))
    {
        let (home, d) = d;
        let snap = super::device(NS, d, &home.groups);
        for (k, ch) in &d.channels {
            let parent = format!("{}.channels.{k}", super::ids::device(NS, &d.id));
            let entry = by_type.entry(ch.channel_type.clone()).or_default();
            lines_of(
                &snap.objects,
                &parent,
                CHANNEL_ROWS,
                &ch.channel_type,
                "deviceId, channelIndex",
                &mut entry.0,
            );
            if !entry.1.contains(&d.device_type) {
                entry.1.push(d.device_type.clone());
            }
        }
    }
    out.push_str("## Device channels\n\nIds: `hmip.0.devices.<device id>.channels.<index>.<state>`; device facts under `hmip.0.devices.<device id>.info.*` (`type`, `modelType`, `label`, `firmwareVersion`, `updateState`, … every scalar field of the device).\n\n");
    for (ty, (lines, devices)) in &by_type {
        let mut devices = devices.clone();
        devices.sort();
        let _ = writeln!(out, "### {ty}\n\nIn: {}\n", devices.join(", "));
        table_of(&mut out, lines);
    }

    // Groups, by group type.
    let mut groups: BTreeMap<String, BTreeMap<String, Line>> = BTreeMap::new();
    for g in homes.iter().flat_map(|h| h.groups.values()) {
        let snap = super::group(NS, g);
        let parent = super::ids::group(NS, &g.id);
        lines_of(
            &snap.objects,
            &parent,
            GROUP_ROWS,
            &g.group_type,
            "groupId",
            groups.entry(g.group_type.clone()).or_default(),
        );
    }
    out.push_str("## Groups\n\nIds: `hmip.0.groups.<group id>.<state>`, plus `info.label` and `info.type`.\n\n");
    for (ty, lines) in &groups {
        let _ = writeln!(out, "### {ty}\n");
        table_of(&mut out, lines);
    }

    // The home: own fields, nested sections, functional homes.
    out.push_str("## Home\n\nIds: `hmip.0.homes.<home id>.<state>`, `….<section>.<state>` and `….functionalHomes.<solution>.<state>`.\n\n");
    let snap = super::home(NS, &state.home);
    let base = super::ids::home(NS, &state.home.id);
    let mut own = BTreeMap::new();
    lines_of(&snap.objects, &base, HOME_ROWS, HOME_SECTION, "", &mut own);
    out.push_str("### home\n\n");
    table_of(&mut out, &own);
    for (field, v) in &state.home.fields {
        let Value::Object(inner) = v else { continue };
        if field == "functionalHomes" {
            for solution in inner.keys() {
                let parent = format!(
                    "{base}.functionalHomes.{}",
                    super::ids::solution_segment(solution)
                );
                let mut lines = BTreeMap::new();
                lines_of(&snap.objects, &parent, HOME_ROWS, solution, "", &mut lines);
                let _ = writeln!(
                    out,
                    "### functionalHomes.{} ({solution})\n",
                    super::ids::solution_segment(solution)
                );
                table_of(&mut out, &lines);
            }
        } else {
            let parent = format!("{base}.{}", super::ids::segment(field));
            let mut lines = BTreeMap::new();
            lines_of(&snap.objects, &parent, HOME_ROWS, field, "", &mut lines);
            let _ = writeln!(out, "### {field}\n");
            table_of(&mut out, &lines);
        }
    }
    out.push_str("## Events\n\nKey, input and bell channels also get `press` (button.press), `pressLong` (button.long), `doorBell` (button.press), `lastEvent` and `lastEventTime`, written on every `DEVICE_CHANNEL_EVENT` even when equal; any other channel gets them on its first event. Key pads get `info.lastCodeIndex`, `info.lastCodeState` and `info.lastCodeTime` on `DEVICE_CODE_STATE_EVENT`.\n");
    out
}

'use strict';
// The object tree the adapter creates, checked with ioBroker's own packages:
// - @iobroker/repochecker's checkObjectStructure (what the adapter repository's checker
//   reports for an object dump: unknown roles, role/type mismatches, readable buttons,
//   missing parent objects, ...);
// - ioBroker's role list as the repository checker knows it, and buttons never readable;
// - @iobroker/type-detector run per channel (and per heating group) as VIS, iot/Alexa,
//   material and devices do: each channel of the kinds below must be detected as its kind.
//
// The tree comes from the binary's hidden `tree` subcommand; tests/e2e/run builds it and
// passes its path in HMIP_BIN.

// What type-detector must find, per Homematic IP channel type (device channels) and group
// type (group devices). A key ending in `*` matches every type starting with the text
// before it. `detects` lists the type-detector types that count as right for the kind.
const EXPECTED = [
    // Tubular and window drives report a shutter level like a shutter: blinds too.
    { kind: 'blind', channels: ['SHUTTER_CHANNEL', 'BLIND_CHANNEL', 'MULTI_MODE_INPUT_BLIND_CHANNEL', 'GENERIC_WINDOW_COVERING_CHANNEL'], detects: ['blind'] },
    { kind: 'tubular or window drive', channels: ['TUBULAR_DRIVE_CHANNEL', 'WINDOW_DRIVE_CHANNEL'], detects: ['blind'] },
    // A thermostat's set point is written through its room's HEATING group (the cloud has
    // no device call for it); one in no heating group cannot be controlled, so the adapter
    // shows it read-only and type-detector rightly sees a temperature sensor. The pattern
    // takes the glass, basic and without-display thermostats of 2026 too.
    { kind: 'thermostat', channels: ['HEATING_THERMOSTAT_CHANNEL', 'WALL_MOUNTED_THERMOSTAT_*'], inHeatingGroup: true, detects: ['thermostat'] },
    { kind: 'thermostat outside a heating group', channels: ['HEATING_THERMOSTAT_CHANNEL', 'WALL_MOUNTED_THERMOSTAT_*'], inHeatingGroup: false, detects: ['temperature'] },
    { kind: 'heating group', groups: ['HEATING'], detects: ['thermostat'] },
    { kind: 'window contact', channels: ['SHUTTER_CONTACT_CHANNEL', 'CONTACT_INTERFACE_CHANNEL', 'GENERIC_CONTACT_SENSOR_CHANNEL'], detects: ['window', 'windowTilt'] },
    { kind: 'rotary handle', channels: ['ROTARY_HANDLE_CHANNEL'], detects: ['windowTilt'] },
    { kind: 'switch', channels: ['SWITCH_CHANNEL', 'SWITCH_MEASURING_CHANNEL', 'EXTERNAL_SWITCH_CHANNEL'], detects: ['socket', 'light'] },
    { kind: 'dimmer', channels: ['DIMMER_CHANNEL', 'UNIVERSAL_DIMMING_CHANNEL'], detects: ['dimmer'] },
    { kind: 'motion', channels: ['MOTION_DETECTION_CHANNEL', 'PRESENCE_DETECTION_CHANNEL', 'GENERIC_OCCUPANCY_SENSOR_CHANNEL'], detects: ['motion'] },
    { kind: 'smoke', channels: ['SMOKE_DETECTOR_CHANNEL', 'GENERIC_SMOKE_ALARM_CHANNEL'], detects: ['fireAlarm'] },
    { kind: 'water', channels: ['WATER_SENSOR_CHANNEL', 'BASE_WATER_SENSOR_CHANNEL', 'GENERIC_WATER_SENSOR_CHANNEL'], detects: ['floodAlarm'] },
    { kind: 'door lock', channels: ['DOOR_LOCK_CHANNEL'], detects: ['lock'] },
    // type-detector has no valve: the water stop valve's open/closed switch is its socket.
    { kind: 'water stop valve', channels: ['WATER_SUPPLY_STOP_CHANNEL'], detects: ['socket'] },
    // The 0-10 V actuator as ventilation controller: a fan (mode and speed).
    { kind: 'ventilation controller', channels: ['UNIVERSAL_ACTUATOR_CHANNEL'], detects: ['fan'] },
    // Energy meters: type-detector's electricity (power, consumption).
    { kind: 'energy meter', channels: ['GENERIC_ENERGY_METER_CHANNEL', 'ENERGY_SENSORS_INTERFACE_LINKY_CHANNEL'], detects: ['electricity'] },
    { kind: 'air pressure', channels: ['AIR_PRESSURE_SENSOR_CHANNEL'], detects: ['pressure'] },
    { kind: 'temperature sensor', channels: ['TEMPERATURE_SENSOR_CHANNEL'], detects: ['temperature'] },
];

// The homes whose trees are checked: the getCurrentState fixtures and the demo home that
// `tree` maps when given no --fixture (the binary embeds src/sim/demo_home.json as it is).
const NAMESPACE = 'hmip.0';
const ADAPTER = 'hmip';
const ROOT = require('node:path').resolve(__dirname, '..', '..');
const HOMES = [
    { label: 'home.json', args: ['--fixture', 'tests/fixtures/home.json'], source: 'tests/fixtures/home.json' },
    { label: 'home-2026.json', args: ['--fixture', 'tests/fixtures/home-2026.json'], source: 'tests/fixtures/home-2026.json' },
    { label: 'unknown_types.json', args: ['--fixture', 'tests/fixtures/unknown_types.json'], source: 'tests/fixtures/unknown_types.json' },
    { label: 'demo home', args: [], source: 'src/sim/demo_home.json' },
];

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { checkObjectStructure } = require('@iobroker/repochecker/lib/objectStructure');
const { STATE_ROLE_RULES } = require('@iobroker/repochecker/lib/config_StateRoles');
const TypeDetector = require('@iobroker/type-detector').default;

function typeMatches(pattern, type) {
    return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

function rowFor(list, type, inHeatingGroup) {
    return EXPECTED.find(row =>
        (row[list] || []).some(p => typeMatches(p, type)) &&
        (row.inHeatingGroup === undefined || row.inHeatingGroup === inHeatingGroup));
}

/** Does a channel belong to a HEATING group of the home? */
function inHeatingGroup(home, channel) {
    return (channel.groups || []).some(id => (home.groups || {})[id] && home.groups[id].type === 'HEATING');
}

/** The channels and groups of a getCurrentState answer that the table covers, with the ids the tree gives them. */
function expectedTargets(home) {
    const targets = [];
    for (const device of Object.values(home.devices || {})) {
        for (const [index, channel] of Object.entries(device.functionalChannels || {})) {
            const row = rowFor('channels', channel.functionalChannelType, inHeatingGroup(home, channel));
            if (row) {
                targets.push({
                    row,
                    id: `${NAMESPACE}.devices.${device.id}.channels.${index}`,
                    what: `${channel.functionalChannelType} of ${device.type}`,
                });
            }
        }
    }
    for (const group of Object.values(home.groups || {})) {
        const row = rowFor('groups', group.type);
        if (row) targets.push({ row, id: `${NAMESPACE}.groups.${group.id}`, what: `${group.type} group` });
    }
    return targets;
}

/** The whole object tree (id -> object) the binary creates for a home. */
function treeOf(args) {
    const bin = process.env.HMIP_BIN;
    assert.ok(bin, 'HMIP_BIN is not set: run these checks through tests/e2e/run, which builds the binary');
    assert.ok(fs.existsSync(bin), `HMIP_BIN=${bin} does not exist`);
    const res = spawnSync(bin, ['tree', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.ifError(res.error);
    assert.equal(res.status, 0, `iobroker-hmip tree ${args.join(' ')} failed:\n${res.stderr}`);
    return JSON.parse(res.stdout);
}

/** Whether the repository checker knows a role (exact, `x.*`/`x.` wildcard rules, `.setting.` infix). */
const KNOWN_ROLES = Object.keys(STATE_ROLE_RULES);
function roleKnown(role) {
    const known = r => KNOWN_ROLES.some(k =>
        k.endsWith('*') ? r.startsWith(k.slice(0, -1)) : k.endsWith('.') ? r.startsWith(k) : k === r);
    return known(role) || (role.includes('.setting.') && known(role.replace('.setting.', '.')));
}

function list(lines, max = 40) {
    const shown = lines.slice(0, max).map(l => `  ${l}`).join('\n');
    return lines.length > max ? `${shown}\n  … and ${lines.length - max} more` : shown;
}

for (const home of HOMES) {
    const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, home.source), 'utf8'));
    const targets = expectedTargets(fixture);

    describe(`tree of ${home.label}`, () => {
        let objects;
        let states;
        before(() => {
            objects = treeOf(home.args);
            states = Object.entries(objects).filter(([, o]) => o.type === 'state');
        });

        test(`${home.label}: the repository checker reports no errors and no warnings`, () => {
            const r = checkObjectStructure(objects, ADAPTER);
            assert.ok(r.objectCount > 0, 'the tree is empty');
            const show = xs => list(xs.map(x => `${x.code} ${x.message}`));
            assert.equal(r.errors.length, 0, `${r.errors.length} errors:\n${show(r.errors)}`);
            assert.equal(r.warnings.length, 0, `${r.warnings.length} warnings:\n${show(r.warnings)}`);
        });

        test(`${home.label}: every state has a role from ioBroker's role list`, () => {
            const bad = states
                .filter(([, o]) => typeof o.common.role !== 'string' || !roleKnown(o.common.role))
                .map(([id, o]) => `${id}: role ${JSON.stringify(o.common.role)}`);
            assert.equal(bad.length, 0, `${bad.length} states without a known role (E1008):\n${list(bad)}`);
        });

        test(`${home.label}: every button role is read: false`, () => {
            const bad = states
                .filter(([, o]) => /^button(\.|$)/.test(o.common.role || '') && o.common.read !== false)
                .map(([id, o]) => `${id}: role ${o.common.role}, read ${o.common.read}`);
            assert.equal(bad.length, 0, `${bad.length} readable buttons (E1010):\n${list(bad)}`);
        });

        // One test per kind that the home has, so the totals show which kinds are detected.
        for (const row of EXPECTED) {
            const mine = targets.filter(t => t.row === row);
            if (!mine.length) continue;
            test(`${home.label}: type-detector, ${mine.length} ${row.kind} → ${row.detects.join(' or ')}`, () => {
                const keys = Object.keys(objects).sort();
                const detector = new TypeDetector();
                const misses = [];
                for (const t of mine) {
                    if (!objects[t.id]) {
                        misses.push(`${t.id} (${t.what}): no such object in the tree`);
                        continue;
                    }
                    const found = (detector.detect({
                        objects,
                        id: t.id,
                        _keysOptional: keys,
                        _keysOptionalSorted: true,
                        _usedIdsOptional: [],
                    }) || []).map(c => c.type);
                    if (!found.some(type => row.detects.includes(type))) {
                        misses.push(`${t.id} (${t.what}): detected ${found.length ? found.join(', ') : 'nothing'}`);
                    }
                }
                const hits = mine.length - misses.length;
                assert.equal(hits, mine.length,
                    `${row.kind}: ${hits} of ${mine.length} detected as ${row.detects.join(' or ')}; misses:\n${list(misses)}`);
            });
        }
    });
}

// The table must keep meaning something: every row matches channels (or groups) of the
// two fixtures (the 150-device home of 2023 and the project's 2026 home), so a misspelt
// type cannot quietly check nothing.
test('every row of the table matches the fixtures home.json and home-2026.json', () => {
    const homes = ['tests/fixtures/home.json', 'tests/fixtures/home-2026.json']
        .map(f => JSON.parse(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    const targets = homes.flatMap(expectedTargets);
    const empty = EXPECTED.filter(row => !targets.some(t => t.row === row)).map(row => row.kind);
    assert.deepEqual(empty, [], `rows without a channel in the fixtures: ${empty.join(', ')}`);
    const patterns = EXPECTED.flatMap(row => [...(row.channels || []), ...(row.groups || [])]);
    const types = new Set(homes.flatMap(home => [
        ...Object.values(home.devices).flatMap(d => Object.values(d.functionalChannels).map(c => c.functionalChannelType)),
        ...Object.values(home.groups).map(g => g.type),
    ]));
    const unused = patterns.filter(p => ![...types].some(t => typeMatches(p, t)));
    assert.deepEqual(unused, [], `types in the table that no fixture has: ${unused.join(', ')}`);
});

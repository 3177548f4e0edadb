#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/<target>/ (run from anywhere: python3 fuzz/corpus/seeds.py).

The seeds are real frames built from tests/fixtures/home.json (GPL-3.0 test data of
homematicip-rest-api, used only as test input) and src/sim/demo_home.json (the project's
own), and hand-made bad inputs: truncated, oversized, wrong types, deep nesting, invalid
UTF-8, RESP partial frames, huge and negative lengths. Files named regression-* hold the
input of a bug a fuzzer found; they are written here too, so that running this script
never loses one. Inputs that fuzzing adds later are committed as they are (cmin'ed).
"""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def load(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return json.load(f)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, (bytes, bytearray)):
        data = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


FIXTURE = load("tests/fixtures/home.json")
DEMO = load("src/sim/demo_home.json")
DEVICES = list(FIXTURE["devices"].values())
GROUPS = FIXTURE["groups"]


def device_of(channel_type):
    for d in DEVICES:
        for ch in d["functionalChannels"].values():
            if ch.get("functionalChannelType") == channel_type:
                return d
    raise KeyError(channel_type)


def group_of(group_type):
    for g in GROUPS.values():
        if g["type"] == group_type:
            return g
    raise KeyError(group_type)


def events(*evs):
    return {"events": {str(i): e for i, e in enumerate(evs)}}


def small_home(devices, home=None):
    """A getCurrentState answer with these devices and the groups their channels name."""
    wanted = set()
    for d in devices:
        channels = d.get("functionalChannels")
        for ch in channels.values() if isinstance(channels, dict) else []:
            if isinstance(ch, dict):
                wanted.update(g for g in ch.get("groups", []) if isinstance(g, str))
    return {
        "home": home or {"id": FIXTURE["home"]["id"], "connected": True},
        "devices": {d["id"]: d for d in devices},
        "groups": {k: v for k, v in GROUPS.items() if k in wanted},
        "clients": FIXTURE["clients"],
    }


def cover_channel_types():
    """Few devices that together have every channel type of the fixture."""
    left = {ch["functionalChannelType"] for d in DEVICES for ch in d["functionalChannels"].values()}
    chosen = []
    while left:
        best = max(DEVICES, key=lambda d: len(left & {c["functionalChannelType"] for c in d["functionalChannels"].values()}))
        chosen.append(best)
        left -= {c["functionalChannelType"] for c in best["functionalChannels"].values()}
    return chosen


# -- model: getCurrentState answers -------------------------------------------------------

write("model", "demo-home.json", DEMO)
write("model", "fixture-home-only.json", {"home": FIXTURE["home"], "devices": {}, "groups": GROUPS, "clients": FIXTURE["clients"]})
covering = cover_channel_types()
for n in range(0, len(covering), 5):
    write("model", f"fixture-devices-{n // 5:02}.json", small_home(covering[n:n + 5]))
write("model", "unknown-types.json", load("tests/fixtures/unknown_types.json"))
write("model", "empty-maps.json", {"home": {"id": "H"}, "devices": {}, "groups": {}, "clients": {}})
write("model", "minimal.json", {"home": {"id": "H"}})

shutter = device_of("SHUTTER_CHANNEL")
blind = device_of("BLIND_CHANNEL")
switch = device_of("SWITCH_CHANNEL")
thermostat = device_of("HEATING_THERMOSTAT_CHANNEL")
contact = device_of("SHUTTER_CONTACT_CHANNEL")
key = device_of("SINGLE_KEY_CHANNEL")


def with_device(d):
    return small_home([d])


def edited(d, **top):
    d = json.loads(json.dumps(d))
    d.update(top)
    return d


def channel_edited(d, key, **fields):
    d = json.loads(json.dumps(d))
    d["functionalChannels"][key].update(fields)
    return d


write("model", "bad-functionalChannels-number.json", with_device(edited(switch, functionalChannels=5)))
write("model", "bad-label-object.json", with_device(edited(switch, label={"de": "Licht"})))
write("model", "bad-type-null.json", with_device(edited(shutter, type=None)))
write("model", "bad-id-number.json", with_device(edited(switch, id=12345)))
write("model", "bad-channel-not-object.json", with_device(edited(switch, functionalChannels={"0": [], "1": "on"})))
write("model", "bad-channel-type-number.json", with_device(channel_edited(switch, "1", functionalChannelType=3)))
write("model", "bad-channel-values.json", small_home([
    channel_edited(shutter, "1", shutterLevel="abc", processing={"x": 1}),
    channel_edited(blind, "1", slatsLevel=[0.5], shutterLevel=None),
    channel_edited(switch, "1", on="yes"),
    channel_edited(thermostat, "1", valvePosition=True, setPointTemperature="hot"),
    channel_edited(contact, "1", windowState=2),
]))
write("model", "bad-maps-wrong-kinds.json", {"home": {"id": "H", "functionalHomes": [1, 2], "weather": "sunny"}, "devices": [], "groups": "x", "clients": 3})
write("model", "bad-home-id-number.json", {"home": {"id": 7}, "devices": {}})
write("model", "bad-no-home.json", {"devices": {}, "groups": {}})
write("model", "bad-not-an-object.json", [1, 2, 3])
write("model", "bad-group-wrong-types.json", {"home": {"id": "H"}, "groups": {"G": {"id": "G", "type": ["HEATING"], "label": 1, "setPointTemperature": "x"}}})
write("model", "bad-security-zones.json", {"home": {"id": "H", "functionalHomes": {"SECURITY_AND_ALARM": {"securityZones": {"INTERNAL": "missing", "EXTERNAL": 5}, "solution": "SECURITY_AND_ALARM"}}}, "groups": {"missing2": {"id": "missing2", "type": "SECURITY_ZONE", "active": "yes"}}})
odd_ids = {}
for n, ident in enumerate(["a.b.c", "with space", "star*", "what?", "[x]", "quo\"te", "it's", "ünïcödé-✓", "", "...", "back\\slash", "tab\there", "a,b;c", "<tag>"]):
    d = edited(switch, id=ident)
    odd_ids[ident or f"empty{n}"] = d
write("model", "odd-ids.json", {"home": {"id": "home.with.dots"}, "devices": odd_ids, "groups": {"g.1 *": {"id": "g.1 *", "type": "SWITCHING", "label": "odd"}}})
write("model", "odd-channel-keys.json", with_device(edited(switch, functionalChannels={
    "1.5": switch["functionalChannels"]["1"], "-1": switch["functionalChannels"]["1"], "4294967296": switch["functionalChannels"]["1"],
    "abc": switch["functionalChannels"]["1"], "": switch["functionalChannels"]["1"], "01": switch["functionalChannels"]["1"]})))
write("model", "huge-numbers.json", with_device(channel_edited(shutter, "1", shutterLevel=1e308, previousShutterLevel=-1e308, index=18446744073709551615)))
write("model", "number-out-of-range.txt", '{"home":{"id":"H","x":1e400}}')
write("model", "deep-nesting.txt", '{"home":{"id":"H","deep":' + "[" * 200 + "]" * 200 + "}}")
write("model", "deep-nesting-127.txt", '{"home":{"id":"H","deep":' + "[" * 120 + "]" * 120 + "}}")
write("model", "duplicate-keys.txt", '{"home":{"id":"A","id":"B"},"devices":{"d":{"id":"d","id":"e"}}}')
write("model", "invalid-utf8.bin", b'{"home":{"id":"\xff\xfe"}}')
write("model", "lone-surrogate.txt", '{"home":{"id":"\\ud800"}}')
# Regression: an integer beyond u64, read as a float, came back one bit off after a round
# trip (serde_json without float_roundtrip).
write("model", "regression-float-round-trip.json", '{"home":{"id":"H","a":15577675599318446744073709551615}}')
text = compact(small_home(covering[:3]))
write("model", "truncated-half.txt", text[: len(text) // 2])
write("model", "truncated-end.txt", text[:-1])

# -- event_parser: websocket messages -----------------------------------------------------

write("event_parser", "device-changed-shutter.json", events({"pushEventType": "DEVICE_CHANGED", "device": shutter}))
write("event_parser", "device-changed-thermostat.json", events({"pushEventType": "DEVICE_CHANGED", "device": thermostat}))
write("event_parser", "device-added-key.json", events({"pushEventType": "DEVICE_ADDED", "device": key}))
write("event_parser", "group-changed-heating.json", events({"pushEventType": "GROUP_CHANGED", "group": group_of("HEATING")}))
write("event_parser", "group-changed-zone.json", events({"pushEventType": "GROUP_CHANGED", "group": group_of("SECURITY_ZONE")}))
write("event_parser", "home-changed.json", events({"pushEventType": "HOME_CHANGED", "home": FIXTURE["home"]}))
write("event_parser", "home-changed-disconnected.json", events({"pushEventType": "HOME_CHANGED", "home": {"id": "H", "connected": False}}))
write("event_parser", "client-changed.json", events({"pushEventType": "CLIENT_CHANGED", "client": next(iter(FIXTURE["clients"].values()))}))
write("event_parser", "removals.json", events(
    {"pushEventType": "DEVICE_REMOVED", "id": shutter["id"]},
    {"pushEventType": "GROUP_REMOVED", "group": {"id": "G"}},
    {"pushEventType": "CLIENT_REMOVED", "client": {"id": "C"}}))
write("event_parser", "channel-event.json", events({"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": key["id"], "channelIndex": 1, "functionalChannelIndex": 1, "channelEventType": "KEY_PRESS_SHORT"}))
write("event_parser", "code-state-event.json", events({"pushEventType": "DEVICE_CODE_STATE_EVENT", "deviceId": key["id"], "codeIndex": 2, "codeState": "CODE_VALID"}))
write("event_parser", "security-journal.json", events({"pushEventType": "SECURITY_JOURNAL_CHANGED"}))
write("event_parser", "unknown-type.json", events({"pushEventType": "SOMETHING_NEW", "payload": {"a": [1, 2]}}))
write("event_parser", "mixed-and-unordered.txt", '{"events":{"10":{"pushEventType":"SECURITY_JOURNAL_CHANGED"},"2":{"pushEventType":"DEVICE_REMOVED","id":"D"},"x":{"pushEventType":"CLIENT_REMOVED","id":"C"},"0":{"pushEventType":"HOME_CHANGED","home":{"id":"H"}}}}')
write("event_parser", "bad-events-array.json", {"events": [{"pushEventType": "DEVICE_REMOVED", "id": "D"}]})
write("event_parser", "bad-no-events.json", {"accessPointId": "x"})
write("event_parser", "bad-event-kinds.json", events(5, None, "DEVICE_CHANGED", [], {"pushEventType": 7}, {"pushEventType": None}))
write("event_parser", "bad-device-label-object.json", events({"pushEventType": "DEVICE_CHANGED", "device": edited(switch, label={"x": 1})}))
write("event_parser", "bad-device-channels-number.json", events({"pushEventType": "DEVICE_CHANGED", "device": edited(switch, functionalChannels=3)}))
write("event_parser", "bad-device-type-null.json", events({"pushEventType": "DEVICE_CHANGED", "device": edited(switch, type=None)}))
write("event_parser", "bad-device-no-id.json", events({"pushEventType": "DEVICE_CHANGED", "device": {"type": "X"}}))
write("event_parser", "bad-channel-values.json", events({"pushEventType": "DEVICE_CHANGED", "device": channel_edited(shutter, "1", shutterLevel="closed", on=[1])}))
write("event_parser", "bad-removal-ids.json", events({"pushEventType": "DEVICE_REMOVED", "id": 5}, {"pushEventType": "GROUP_REMOVED"}, {"pushEventType": "CLIENT_REMOVED", "client": "C"}))
write("event_parser", "bad-channel-event-fields.json", events(
    {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": 1, "channelIndex": 1, "channelEventType": "KEY_PRESS_SHORT"},
    {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": "D", "channelIndex": -1, "channelEventType": "KEY_PRESS_SHORT"},
    {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": "D", "channelIndex": 1.5, "channelEventType": None},
    {"pushEventType": "DEVICE_CODE_STATE_EVENT", "deviceId": "D", "codeIndex": "one", "codeState": 5}))
# Regression: an index above u32::MAX was truncated onto another channel (4294967297 -> 1).
write("event_parser", "regression-channel-index-above-u32.json", events(
    {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": "D", "channelIndex": 4294967297, "functionalChannelIndex": 4294967297, "channelEventType": "KEY_PRESS_SHORT"}))
write("event_parser", "odd-ids.json", events(
    {"pushEventType": "DEVICE_CHANGED", "device": edited(switch, id="a.b *?[]\"'ü")},
    {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": "x.y z", "channelIndex": 1, "channelEventType": "KEY_PRESS_LONG"},
    {"pushEventType": "DEVICE_REMOVED", "id": "..."},
    {"pushEventType": "DEVICE_CODE_STATE_EVENT", "deviceId": "", "codeIndex": 1, "codeState": "x"}))
write("event_parser", "deep-nesting.txt", '{"events":{"0":{"pushEventType":"X","d":' + "{\"a\":" * 200 + "1" + "}" * 200 + "}}}")
write("event_parser", "invalid-utf8.bin", b'{"events":{"0":{"pushEventType":"DEVICE_REMOVED","id":"\xc3\x28"}}}')
write("event_parser", "binary-garbage.bin", bytes(range(256)))
write("event_parser", "empty.bin", b"")
write("event_parser", "not-json.txt", "events: DEVICE_CHANGED")
msg = compact(events({"pushEventType": "DEVICE_CHANGED", "device": thermostat}))
write("event_parser", "truncated-half.txt", msg[: len(msg) // 2])
write("event_parser", "truncated-end.txt", msg[:-1])
many = events(*[{"pushEventType": "DEVICE_CHANGED", "device": d} for d in covering[:12]])
write("event_parser", "oversized-many-devices.json", many)

# -- resp_decoder: bytes from an ioBroker database ----------------------------------------

state = compact({"val": 21.5, "ack": True, "ts": 1700000000000, "lc": 1700000000000, "from": "system.adapter.hmip.0", "q": 0})
obj = compact({"_id": "hmip.0.devices.X", "type": "device", "common": {"name": "X"}, "native": {}})
bulk = lambda s: b"$%d\r\n%s\r\n" % (len(s.encode()), s.encode())
write("resp_decoder", "simple-replies.resp", b"+OK\r\n+QUEUED\r\n:1\r\n:-5\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n")
write("resp_decoder", "errors.resp", b"-ERR unknown command 'GET'\r\n-NOAUTH Authentication required.\r\n-EXECABORT Transaction discarded\r\n")
write("resp_decoder", "mget-states.resp", b"*3\r\n" + bulk(state) + b"$-1\r\n" + bulk("null"))
write("resp_decoder", "mget-objects.resp", b"*2\r\n" + bulk(obj) + bulk("{not json"))
write("resp_decoder", "exec-results.resp", b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:1\r\n")
write("resp_decoder", "exec-with-error.resp", b"*3\r\n+OK\r\n-ERR wrong type\r\n*2\r\n:1\r\n$1\r\nx\r\n")
write("resp_decoder", "pubsub-pmessage.resp", b"*4\r\n" + bulk("pmessage") + bulk("io.hmip.0.*") + bulk("io.hmip.0.devices.X.channels.1.on") + bulk(state))
write("resp_decoder", "pubsub-confirmations.resp", b"*3\r\n" + bulk("subscribe") + bulk("__keyevent@0__:expired") + b":1\r\n" + b"*3\r\n" + bulk("psubscribe") + bulk("io.hmip.0.*") + b":2\r\n")
write("resp_decoder", "pubsub-expired.resp", b"*3\r\n" + bulk("message") + bulk("__keyevent@0__:expired") + bulk("io.system.adapter.hmip.0.alive"))
write("resp_decoder", "keys-reply.resp", b"*3\r\n" + bulk("cfg.o.hmip.0.a") + bulk("cfg.o.hmip.0.b") + bulk("cfg.o.hmip.0.ü"))
write("resp_decoder", "partial-bulk.resp", b"$10\r\nabc")
write("resp_decoder", "partial-array.resp", b"*3\r\n$1\r\na\r\n:1\r\n")
write("resp_decoder", "partial-header.resp", b"*12")
write("resp_decoder", "no-crlf.resp", b"+OK")
write("resp_decoder", "lf-only.resp", b"+OK\n:1\n")
write("resp_decoder", "huge-bulk-length.resp", b"$9223372036854775807\r\nabc")
write("resp_decoder", "huge-bulk-length-overflow.resp", b"$18446744073709551616\r\nabc")
write("resp_decoder", "huge-array-length.resp", b"*9223372036854775807\r\n:1\r\n")
write("resp_decoder", "negative-lengths.resp", b"$-2\r\n*-2\r\n$-9223372036854775808\r\n")
write("resp_decoder", "integer-overflow.resp", b":99999999999999999999\r\n:-\r\n:\r\n")
write("resp_decoder", "bulk-length-mismatch.resp", b"$3\r\nabcdef\r\n$5\r\nab\r\n")
write("resp_decoder", "invalid-utf8.resp", b"+\xff\xfe\r\n$2\r\n\xc3\x28\r\n-\x80\r\n")
write("resp_decoder", "resp3-types.resp", b"%1\r\n+a\r\n+b\r\n~1\r\n#t\r\n,1.5\r\n(123\r\n_\r\n>2\r\n")
write("resp_decoder", "binary-garbage.bin", bytes(range(256)))
write("resp_decoder", "empty.bin", b"")
write("resp_decoder", "nested-ok.resp", b"*1\r\n" * 30 + b"+OK\r\n")
write("resp_decoder", "pipeline-many.resp", (b"+OK\r\n:1\r\n" + bulk(state)) * 200)
# Regression: the nesting guard's first version sliced [1..0] when a type byte was the CR
# of a CRLF (found by the stable runner from bulk-length-mismatch.resp and invalid-utf8.resp).
write("resp_decoder", "regression-guard-crlf-type-byte.resp", b"\r\nab\r\n$08\r\na-1e308\r\nabcdef\r\n$\r\r\nab\r\n")
write("resp_decoder", "regression-guard-crlf-after-bulk.resp", b"+\xff\xfe\r\n$2\r\n\xc3\n-\x80\r\nt")
# Regression: nested arrays overflowed the decoder's stack and aborted the process.
write("resp_decoder", "regression-deep-nesting.resp", b"*1\r\n" * 100_000 + b":1\r\n")
write("resp_decoder", "regression-deep-nesting-mixed.resp", b"*3\r\n$2\r\n\r\n\r\n:1\r\n" * 2_000)

use serde_json::{json, Map, Value};

use super::*;

fn obj(id: &str, t: &str) -> IobObject {
    IobObject {
        id: id.into(),
        obj_type: t.into(),
        common: json!({"name": id, "type": "number", "role": "value", "read": true, "write": true})
            .as_object()
            .cloned()
            .unwrap(),
        native: Map::new(),
        extra: json!({"from": "system.adapter.hmip.0", "ts": 1})
            .as_object()
            .cloned()
            .unwrap(),
    }
}

fn st(val: Value, ack: bool) -> IobState {
    IobState::next(
        None,
        val,
        ack,
        "system.adapter.hmip.0",
        0,
        1_700_000_000_000,
    )
}

fn sub(pattern: &str, only_unacked: bool) -> Subscription {
    Subscription {
        pattern: pattern.into(),
        only_unacked,
    }
}

#[tokio::test]
async fn objects_set_get_pattern_delete() {
    let s = EmbeddedStore::in_memory();
    s.set_objects(vec![
        obj("hmip.0.devices", "folder"),
        obj("hmip.0.devices.A", "device"),
        obj("hmip.0.devices.A.on", "state"),
        obj("hmip.0.info.connection", "state"),
        obj("hmip.1.devices.B", "device"),
    ])
    .await
    .unwrap();
    let a = s.get_object("hmip.0.devices.A").await.unwrap().unwrap();
    assert_eq!(a.obj_type, "device");
    assert!(s.get_object("nope").await.unwrap().is_none());

    let devs = s.objects("hmip.0.devices.*").await.unwrap();
    assert_eq!(
        devs.keys().collect::<Vec<_>>(),
        ["hmip.0.devices.A", "hmip.0.devices.A.on"]
    );
    assert_eq!(s.objects("*").await.unwrap().len(), 5);
    assert_eq!(s.objects("*.on").await.unwrap().len(), 1);
    assert_eq!(s.objects("hmip.0.info.connection").await.unwrap().len(), 1);
    assert_eq!(s.objects("hmip.0.info").await.unwrap().len(), 0);

    // Replacing keeps one entry.
    s.set_objects(vec![obj("hmip.0.devices.A", "channel")])
        .await
        .unwrap();
    assert_eq!(
        s.get_object("hmip.0.devices.A")
            .await
            .unwrap()
            .unwrap()
            .obj_type,
        "channel"
    );

    s.del_objects(&["hmip.0.devices.A".into(), "missing".into()])
        .await
        .unwrap();
    assert!(s.get_object("hmip.0.devices.A").await.unwrap().is_none());
    assert_eq!(s.objects("*").await.unwrap().len(), 4);
}

#[tokio::test]
async fn object_serialises_in_iobroker_shape() {
    let s = EmbeddedStore::in_memory();
    s.set_objects(vec![obj("hmip.0.x", "state")]).await.unwrap();
    let v = serde_json::to_value(s.get_object("hmip.0.x").await.unwrap().unwrap()).unwrap();
    assert_eq!(v["_id"], "hmip.0.x");
    assert_eq!(v["type"], "state");
    assert_eq!(v["common"]["role"], "value");
    assert_eq!(v["from"], "system.adapter.hmip.0");
    assert!(v.get("extra").is_none() && v.get("id").is_none());
}

#[tokio::test]
async fn states_set_get_pattern_delete_and_count() {
    let s = EmbeddedStore::in_memory();
    s.set_states(vec![
        ("hmip.0.devices.A.on".into(), st(json!(true), true)),
        ("hmip.0.devices.A.level".into(), st(json!(42.5), true)),
        ("hmip.0.info.connection".into(), st(json!(true), true)),
    ])
    .await
    .unwrap();
    assert_eq!(s.write_count(), 3);
    let on = s.get_state("hmip.0.devices.A.on").await.unwrap().unwrap();
    assert_eq!(on.val, json!(true));
    let v = serde_json::to_value(&on).unwrap();
    assert_eq!(
        v,
        json!({"val": true, "ack": true, "ts": 1_700_000_000_000i64, "lc": 1_700_000_000_000i64,
               "from": "system.adapter.hmip.0", "q": 0, "user": "system.user.admin"})
    );
    assert_eq!(s.states("hmip.0.devices.*").await.unwrap().len(), 2);
    assert_eq!(s.states("hmip.0.*.on").await.unwrap().len(), 1);

    s.set_states(vec![(
        "hmip.0.devices.A.on".into(),
        st(json!(false), false),
    )])
    .await
    .unwrap();
    assert_eq!(s.write_count(), 4);
    assert_eq!(
        s.get_state("hmip.0.devices.A.on")
            .await
            .unwrap()
            .unwrap()
            .val,
        json!(false)
    );

    s.del_states(&["hmip.0.devices.A.on".into()]).await.unwrap();
    assert!(s.get_state("hmip.0.devices.A.on").await.unwrap().is_none());
    assert_eq!(s.states("*").await.unwrap().len(), 2);
}

#[tokio::test]
async fn subscriptions_filter_order_and_deletion() {
    let s = EmbeddedStore::in_memory();
    let mut all = s.subscribe(sub("hmip.0.*", false));
    let mut cmds = s.subscribe(sub("hmip.0.*", true));
    let mut other = s.subscribe(sub("hmip.1.*", false));

    let mut batch = Vec::new();
    for i in 0..100 {
        batch.push((format!("hmip.0.s{i}"), st(json!(i), i % 2 == 0)));
    }
    s.set_states(batch).await.unwrap();
    s.set_states(vec![("javascript.0.x".into(), st(json!(1), false))])
        .await
        .unwrap();
    s.del_states(&["hmip.0.s3".into()]).await.unwrap();

    for i in 0..100 {
        let c = all.try_recv().unwrap();
        assert_eq!(c.id, format!("hmip.0.s{i}"));
        assert_eq!(c.state.unwrap().val, json!(i));
    }
    let del = all.try_recv().unwrap();
    assert_eq!((del.id.as_str(), del.state), ("hmip.0.s3", None));
    assert!(all.try_recv().is_err());

    // Only the unacknowledged (odd) writes, in order, then the deletion.
    for i in (1..100).step_by(2) {
        let c = cmds.try_recv().unwrap();
        assert_eq!(c.id, format!("hmip.0.s{i}"));
        assert!(!c.state.unwrap().ack);
    }
    assert_eq!(cmds.try_recv().unwrap().state, None);
    assert!(cmds.try_recv().is_err());
    assert!(other.try_recv().is_err());
}

#[tokio::test]
async fn dropped_subscribers_are_removed() {
    let s = EmbeddedStore::in_memory();
    let keep = s.subscribe(sub("*", false));
    let gone = s.subscribe(sub("*", false));
    assert_eq!(s.subscriber_count(), 2);
    drop(gone);
    s.set_states(vec![("a".into(), st(json!(1), true))])
        .await
        .unwrap();
    assert_eq!(s.subscriber_count(), 1);
    drop(keep);
    assert_eq!(s.subscriber_count(), 0);
}

#[tokio::test]
async fn persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = EmbeddedStore::open(dir.path()).unwrap();
        s.set_objects(vec![obj("hmip.0.a", "state"), obj("hmip.0.b", "state")])
            .await
            .unwrap();
        s.set_states(vec![
            ("hmip.0.a".into(), st(json!("x"), true)),
            ("hmip.0.b".into(), st(json!(2), false)),
        ])
        .await
        .unwrap();
        s.del_objects(&["hmip.0.b".into()]).await.unwrap();
        s.del_states(&["hmip.0.b".into()]).await.unwrap();
        s.flush().await.unwrap();
    }
    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        s.objects("*").await.unwrap().keys().collect::<Vec<_>>(),
        ["hmip.0.a"]
    );
    assert_eq!(
        s.get_object("hmip.0.a").await.unwrap().unwrap(),
        obj("hmip.0.a", "state")
    );
    assert_eq!(s.states("*").await.unwrap().len(), 1);
    assert_eq!(
        s.get_state("hmip.0.a").await.unwrap().unwrap(),
        st(json!("x"), true)
    );
    // The files are plain ioBroker-shaped JSON maps.
    let raw: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(STATES_FILE)).unwrap()).unwrap();
    assert_eq!(raw["hmip.0.a"]["val"], "x");
    assert!(!dir.path().join("states.json.tmp").exists());
}

#[tokio::test]
async fn saves_in_background_without_flush() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    s.set_states(vec![("hmip.0.a".into(), st(json!(1), true))])
        .await
        .unwrap();
    let path = dir.path().join(STATES_FILE);
    let deadline = std::time::Instant::now() + super::STATES_PERSIST_DELAY + Duration::from_secs(5);
    loop {
        if let Ok(b) = std::fs::read(&path) {
            let v: Value = serde_json::from_slice(&b).unwrap();
            if v["hmip.0.a"]["val"] == 1 {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "states.json not written in the background"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn corrupt_file_is_moved_aside_and_store_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = EmbeddedStore::open(dir.path()).unwrap();
        s.set_objects(vec![obj("hmip.0.a", "state")]).await.unwrap();
        s.set_states(vec![("hmip.0.a".into(), st(json!(1), true))])
            .await
            .unwrap();
        s.flush().await.unwrap();
    }
    std::fs::write(
        dir.path().join(STATES_FILE),
        b"{\"hmip.0.a\": {\"val\": 1, trunc",
    )
    .unwrap();

    let s = EmbeddedStore::open(dir.path()).unwrap();
    // Objects were fine and are kept; states start empty.
    assert_eq!(s.objects("*").await.unwrap().len(), 1);
    assert!(s.states("*").await.unwrap().is_empty());
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("states.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "the corrupt file is kept aside");
    let kept = std::fs::read(dir.path().join(&aside[0])).unwrap();
    assert_eq!(kept, b"{\"hmip.0.a\": {\"val\": 1, trunc");
    assert!(!dir.path().join(STATES_FILE).exists());

    // New writes persist normally next to the kept corrupt file.
    s.set_states(vec![("hmip.0.b".into(), st(json!(2), true))])
        .await
        .unwrap();
    s.flush().await.unwrap();
    drop(s);
    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        s.states("*").await.unwrap().keys().collect::<Vec<_>>(),
        ["hmip.0.b"]
    );
}

#[tokio::test]
async fn open_creates_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sub_dir = dir.path().join("a/b");
    let s = EmbeddedStore::open(&sub_dir).unwrap();
    s.set_objects(vec![obj("x", "state")]).await.unwrap();
    s.flush().await.unwrap();
    assert!(sub_dir.join(OBJECTS_FILE).exists());
}

#[tokio::test]
async fn an_unacked_subscriber_first_hears_the_commands_already_waiting() {
    let s = EmbeddedStore::in_memory();
    s.set_states(vec![
        ("hmip.0.a".into(), st(json!(1), false)),
        ("hmip.0.b".into(), st(json!(2), true)),
        ("hmip.1.c".into(), st(json!(3), false)),
    ])
    .await
    .unwrap();
    let mut cmds = s.subscribe(sub("hmip.0.*", true));
    let mut all = s.subscribe(sub("hmip.0.*", false));
    // The waiting command, marked replayed; not the acked state, not another namespace.
    let c = cmds.try_recv().unwrap();
    assert_eq!((c.id.as_str(), c.replayed), ("hmip.0.a", true));
    assert_eq!(c.state.unwrap().val, json!(1));
    assert!(cmds.try_recv().is_err());
    assert!(
        all.try_recv().is_err(),
        "only unacked subscribers get a replay"
    );
    // Then live writes, not marked.
    s.set_states(vec![("hmip.0.d".into(), st(json!(4), false))])
        .await
        .unwrap();
    let c = cmds.try_recv().unwrap();
    assert_eq!((c.id.as_str(), c.replayed), ("hmip.0.d", false));
}

/// An object with a payload, so that a few thousand of them make a log of megabytes.
fn big(id: &str, round: usize) -> IobObject {
    let mut o = obj(id, "state");
    o.native = json!({"round": round, "pad": "x".repeat(300), "n": 1.5, "list": [1, null, "a"]})
        .as_object()
        .cloned()
        .unwrap();
    o
}

/// What a client sees of the objects: a few single ones and a few pattern queries.
async fn view(s: &EmbeddedStore) -> Vec<Value> {
    let mut out = Vec::new();
    for id in [
        "hmip.0.devices.D7.ch.3",
        "hmip.0.devices.D0.ch.0",
        "hmip.0.gone.5",
        "x.y",
    ] {
        out.push(serde_json::to_value(s.get_object(id).await.unwrap()).unwrap());
    }
    for p in [
        "hmip*",
        "hmip.0.*",
        "hmip.0.devices.D1*",
        "hmip.0.devices.D1.*",
        "*.ch.7",
        "hmip.0.gone.*",
        "hmip.0.devices.D3.ch.4",
    ] {
        out.push(serde_json::to_value(s.objects(p).await.unwrap()).unwrap());
    }
    out
}

async fn fill(s: &EmbeddedStore, rounds: usize) {
    for round in 0..rounds {
        let batch = (0..10)
            .flat_map(|d| (0..300).map(move |c| format!("hmip.0.devices.D{d}.ch.{c}")))
            .map(|id| big(&id, round))
            .collect();
        s.set_objects(batch).await.unwrap();
    }
    s.set_objects(
        (0..20)
            .map(|i| big(&format!("hmip.0.gone.{i}"), 0))
            .collect(),
    )
    .await
    .unwrap();
    let gone: Vec<String> = (0..20).map(|i| format!("hmip.0.gone.{i}")).collect();
    s.del_objects(&gone).await.unwrap();
}

#[tokio::test]
async fn objects_stay_on_disk_and_answer_alike_after_restart_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    fill(&s, 3).await;
    let before = view(&s).await;
    assert_eq!(before[1]["native"]["round"], 2, "the latest write wins");
    let all = s.objects("*").await.unwrap();
    assert_eq!(all.len(), 3000);
    // The live records: each object's text and a newline.
    let live: usize = all
        .values()
        .map(|o| serde_json::to_string(o).unwrap().len() + 1)
        .sum();
    // On disk, not in memory: 8 bytes of index per object.
    let mem = s.memory();
    assert_eq!(mem.objects, 3000);
    assert!(mem.object_bytes < 3000 * 16, "{mem:?}");
    s.flush().await.unwrap();
    // Three rounds of the same objects: two thirds dead, so the save rewrote the file
    // with the live records only.
    let file = dir.path().join(OBJECTS_FILE);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), live as u64);
    assert!(view(&s).await == before, "after compaction");
    drop(s);

    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert!(view(&s).await == before, "after a restart");
    s.set_objects(vec![big("hmip.0.devices.D0.ch.0", 9)])
        .await
        .unwrap();
    s.compact().unwrap();
    let mut expected = before.clone();
    expected[1]["native"]["round"] = json!(9);
    for query in [4, 5] {
        expected[query]["hmip.0.devices.D0.ch.0"]["native"]["round"] = json!(9);
    }
    let now = view(&s).await;
    assert!(
        now == expected,
        "the one replaced object, the rest unchanged"
    );
    drop(s);
    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert!(view(&s).await == now, "after compaction and a restart");
}

#[tokio::test]
async fn objects_survive_a_crash_between_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    fill(&s, 1).await;
    let before = view(&s).await;
    // A crash: no flush, no final save (the store is never dropped).
    std::mem::forget(s);
    let file = dir.path().join(OBJECTS_FILE);
    // ... in the middle of the next write: a record torn off.
    let mut torn = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(&mut torn, br#"{"_id":"hmip.0.devices.D9.ch.1","type":"sta"#)
        .unwrap();
    drop(torn);

    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert!(
        view(&s).await == before,
        "every object written before the crash"
    );
    assert!(s
        .get_object("hmip.0.devices.D9.ch.1")
        .await
        .unwrap()
        .is_some());
    // Later writes start on a line of their own and survive a restart.
    s.set_objects(vec![obj("other.after", "state")])
        .await
        .unwrap();
    s.flush().await.unwrap();
    drop(s);
    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert!(view(&s).await == before, "after the next restart");
    assert_eq!(
        s.get_object("other.after").await.unwrap().unwrap(),
        obj("other.after", "state")
    );
}

#[tokio::test]
async fn an_earlier_objects_json_is_moved_into_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let old: BTreeMap<String, IobObject> = ["hmip.0.a", "hmip.0.b.c"]
        .into_iter()
        .map(|id| (id.to_string(), obj(id, "state")))
        .collect();
    std::fs::write(
        dir.path().join(LEGACY_OBJECTS_FILE),
        serde_json::to_vec(&old).unwrap(),
    )
    .unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(s.objects("*").await.unwrap(), old);
    assert!(!dir.path().join(LEGACY_OBJECTS_FILE).exists());
    drop(s);
    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(s.objects("hmip.0.*").await.unwrap(), old);
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    s.set_objects(vec![obj("hmip.0.a", "state")]).await.unwrap();
    s.set_states(vec![("hmip.0.a".into(), st(json!(1), true))])
        .await
        .unwrap();
    s.flush().await.unwrap();
    for f in [OBJECTS_FILE, STATES_FILE] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
}

#[tokio::test]
async fn states_come_back_exactly_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut with_comment = st(json!({"a": [1, 2.0]}), false);
    with_comment.c = Some("why".into());
    let written = vec![
        ("hmip.0.f".to_string(), st(json!(21.0), true)),
        ("hmip.0.i".to_string(), st(json!(-3), true)),
        ("hmip.0.s".to_string(), st(json!("NOT_USED"), true)),
        ("hmip.0.n".to_string(), st(json!(null), true)),
        ("hmip.0.o".to_string(), with_comment),
        ("hmip.0.u".to_string(), st(json!(u64::MAX), true)),
    ];
    {
        let s = EmbeddedStore::open(dir.path()).unwrap();
        s.set_states(written.clone()).await.unwrap();
        s.flush().await.unwrap();
    }
    let s = EmbeddedStore::open(dir.path()).unwrap();
    let back = s.states("*").await.unwrap();
    assert_eq!(back, written.into_iter().collect::<BTreeMap<_, _>>());
    // Integers stay integers, floats floats.
    let text = serde_json::to_string(&back["hmip.0.f"]).unwrap();
    assert!(text.contains("\"val\":21.0"), "{text}");
}

#[tokio::test]
async fn object_digests_match_the_objects() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    fill(&s, 1).await;
    s.set_objects(vec![obj("other.x", "state")]).await.unwrap();
    let expected: Vec<(String, u64)> = s
        .objects("hmip.0.devices.D2*")
        .await
        .unwrap()
        .iter()
        .map(|(id, o)| (id.clone(), crate::store::object_digest(o)))
        .collect();
    assert_eq!(expected.len(), 300);
    assert_eq!(
        s.object_digests("hmip.0.devices.D2*").await.unwrap(),
        expected
    );
    // A changed common changes the digest.
    let mut changed = big("hmip.0.devices.D2.ch.0", 0);
    changed.common.insert("role".into(), json!("level"));
    s.set_objects(vec![changed]).await.unwrap();
    let after = s.object_digests("hmip.0.devices.D2.ch.0").await.unwrap();
    assert_ne!(
        after[0].1,
        expected
            .iter()
            .find(|e| e.0 == "hmip.0.devices.D2.ch.0")
            .unwrap()
            .1
    );
}

#[tokio::test]
async fn an_in_memory_store_compacts_its_objects_too() {
    let s = EmbeddedStore::in_memory();
    fill(&s, 4).await;
    let live: usize = s
        .objects("*")
        .await
        .unwrap()
        .values()
        .map(|o| serde_json::to_string(o).unwrap().len() + 1)
        .sum();
    // Four rounds written, one live: the buffer was rewritten along the way.
    let mem = s.memory();
    assert!(
        mem.objects_file_bytes <= 2 * live as u64 + (1 << 20),
        "{mem:?}, live {live}"
    );
    assert_eq!(view(&s).await[1]["native"]["round"], 3);
    assert_eq!(s.objects("hmip.0.*").await.unwrap().len(), 3000);
}

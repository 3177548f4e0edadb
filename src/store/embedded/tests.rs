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

//! Reachability: the quality (`q`) of device states while the access point is offline or
//! a device reports `unreach`, and rewriting states whose quality changed.

use std::collections::HashSet;

use tracing::{debug, info, warn};

use super::mirror::acked;
use super::Runtime;
use crate::compact::Val;
use crate::iobroker::now_ms;
use crate::tree;

/// Note in `unreachable` whether a device reports `unreach`; true when that changed.
pub(super) fn note_reachability(
    unreachable: &mut HashSet<String>,
    d: &crate::cloud::Device,
) -> bool {
    let unreach = d
        .channels
        .get("0")
        .and_then(|c| c.fields.get("unreach"))
        .and_then(Val::as_bool)
        == Some(true);
    let seg = tree::ids::segment(&d.id);
    if unreach {
        unreachable.insert(seg)
    } else {
        unreachable.remove(&seg)
    }
}

/// ioBroker's quality "device not connected" (js-controller's `STATE_QUALITY`): the value
/// is the last one known, the device cannot confirm it now.
pub const Q_DEVICE_NOT_CONNECTED: u32 = 0x42;

impl Runtime {
    /// The quality a state's value carries now: [`Q_DEVICE_NOT_CONNECTED`] for the states of
    /// every device while the access point is offline, and for those of a device that
    /// reports `unreach` (except that `unreach` state itself, which is current news);
    /// 0 (good) otherwise.
    pub(super) fn quality(&self, id: &str) -> u32 {
        let Some(rest) = id
            .strip_prefix(self.ns())
            .and_then(|r| r.strip_prefix(".devices."))
        else {
            return 0;
        };
        if self.ap_offline {
            return Q_DEVICE_NOT_CONNECTED;
        }
        match rest.split_once('.') {
            Some((device, field))
                if self.unreachable.contains(device) && !field.ends_with(".unreach") =>
            {
                Q_DEVICE_NOT_CONNECTED
            }
            _ => 0,
        }
    }

    /// Rewrite the device states under `prefix` whose quality changed (the access point went
    /// offline or came back, a device became unreachable or reachable), with their last
    /// confirmed value. A pending user command keeps its place; its confirmation brings
    /// the right quality.
    pub(super) async fn requalify(&mut self, prefix: &str) {
        // Only the quality changes: each state's mirror is updated in place by its handle
        // and its known value written again, rather than going through `write_values`
        // (which would look each id up again and compare and re-intern each value).
        self.states.index_under(prefix);
        let now = now_ms();
        let mut writes = Vec::new();
        let mut written = Vec::new();
        for (at, id) in self.states.under(prefix) {
            let q = self.quality(&id);
            let Some(m) = self.states.at_mut(at) else {
                continue;
            };
            if m.commanded || m.q == q {
                continue;
            }
            m.q = q;
            m.seen_ts = now;
            let state = acked(&self.from, m.val.to_value(), m.lc, q, now);
            if !self.awaiting.is_empty() {
                self.awaiting.remove(&id);
            }
            writes.push((id, state));
            written.push(at);
        }
        if writes.is_empty() {
            return;
        }
        debug!(
            count = writes.len(),
            prefix, "quality of device states changed"
        );
        if let Err(e) = self.store.set_states(writes).await {
            self.states_unconfirmed(written, e);
        }
    }

    /// Follow the access point's link state (`connected` of a home report).
    pub(super) async fn set_ap_offline(&mut self, offline: bool) {
        if offline != self.ap_offline {
            self.ap_offline = offline;
            if offline {
                warn!("the access point lost its cloud connection: every device's states are marked unreachable (q 0x42) until it is back");
            } else {
                info!("the access point is connected again");
            }
            let prefix = format!("{}.devices.", self.ns());
            self.requalify(&prefix).await;
        }
    }
}

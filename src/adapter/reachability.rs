//! Reachability: the quality (`q`) of device states while the access point is offline or
//! a device reports `unreach`, and rewriting states whose quality changed.

use std::collections::HashSet;

use serde_json::Value;
use tracing::{debug, info, warn};

use super::Runtime;
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
        .and_then(Value::as_bool)
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
        self.states.index_under(prefix);
        let stale: Vec<tree::TreeValue> = self
            .states
            .under(prefix)
            .into_iter()
            .filter(|(id, m)| !m.commanded && m.q != self.quality(id))
            .map(|(id, m)| tree::TreeValue {
                id,
                val: m.val.to_value(),
            })
            .collect();
        if !stale.is_empty() {
            debug!(
                count = stale.len(),
                prefix, "quality of device states changed"
            );
            self.write_values(stale).await;
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

//! Command confirmation: a user write becomes a control call (or is held until the home
//! is loaded, or refused); the call's result is acknowledged, awaited from the cloud, or
//! undone by showing the real value again.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use super::{writes, Runtime};
use crate::iobroker::{now_ms, IobState};
use crate::store::StateChange;
use crate::tree;

/// How long a user write waits for the home to be loaded before it is refused: a start or
/// a reconnect with new credentials loads it within seconds.
pub(super) const HELD_WRITE_WAIT: Duration = Duration::from_secs(30);

impl Runtime {
    pub(super) async fn on_user_write(&mut self, change: StateChange, queue: &writes::WriteQueue) {
        let Some(st) = change.state else { return };
        if st.ack {
            return;
        }
        let id = change.id;
        if self
            .states
            .handled(&id)
            .is_some_and(|(ts, val)| *ts == st.ts && *val == st.val)
        {
            // This very write was executed already: the late announcement of one replayed
            // first, or a replay of one announced.
            return;
        }
        if change.replayed {
            // Found holding ack false when the subscription was (re)established: a command
            // written while no subscription listened (the database connection was down, or
            // the first start's tree was still being written) is executed now; one older
            // than this adapter's view of the state is not. A state the mirror does not
            // hold was not in the store at start (all of those were loaded) and never
            // written since: whatever command it holds came after the start.
            if self.states.get(&id).is_some_and(|m| st.ts <= m.seen_ts) {
                return;
            }
            info!(%id, "executing a write made while the adapter was not subscribed");
        }
        let Some(model) = &self.model else {
            // Not lost, not refused at once: it waits for the home (the latest per state).
            debug!(%id, "user write held until the home is loaded");
            let deadline = Instant::now() + HELD_WRITE_WAIT;
            let change = StateChange {
                id: id.clone(),
                state: Some(st),
                replayed: change.replayed,
            };
            self.held.insert(id, (change, deadline));
            return;
        };
        let action = {
            let states = &self.states;
            let secrets = &self.opts.secrets;
            // A secret parameter's value is kept apart; its state shows only the mask.
            let param = |pid: &str| {
                secrets
                    .get(pid)
                    .map(Value::String)
                    .or_else(|| states.get(pid).map(|m| m.val.to_value()))
            };
            tree::write_to_call_in(
                self.opts.convention,
                &self.opts.namespace,
                model,
                &id,
                &st.val,
                &param,
            )
            .map_err(|e| e.to_string())
        };
        if let Some(m) = self.states.get_mut(&id) {
            m.seen_ts = m.seen_ts.max(st.ts);
            self.states.set_handled(&id, st.ts, st.val.clone());
        }
        match action {
            Ok(tree::WriteAction::Call(call)) => {
                debug!(%id, path = %call.path, "user write queued");
                match self.states.get_mut(&id) {
                    Some(m) => m.commanded = true,
                    None => {
                        self.actions.insert(id.clone(), st.val.clone());
                    }
                }
                queue.submit(id, call);
            }
            Ok(tree::WriteAction::Local) => {
                // A parameter: the adapter keeps it; acknowledge it as it is.
                if let Some(m) = self.states.get_mut(&id) {
                    m.commanded = true;
                }
                self.write_values(vec![tree::TreeValue { id, val: st.val }])
                    .await;
            }
            Ok(tree::WriteAction::Secret(value)) => {
                // Kept where the tokens are; the state shows only whether one is kept.
                if let Some(value) = value {
                    if let Err(e) = self.opts.secrets.set(&id, &value).await {
                        error!(
                            "the PIN for {id} could not be saved, the one kept before stays: {e:#}"
                        );
                    } else if value.is_empty() {
                        info!(%id, "PIN forgotten");
                    } else {
                        info!(%id, "PIN kept");
                    }
                }
                if let Some(m) = self.states.get_mut(&id) {
                    m.commanded = true;
                }
                let shown = self.opts.secrets.shown(&id);
                self.write_values(vec![tree::TreeValue {
                    id,
                    val: Value::String(shown.into()),
                }])
                .await;
            }
            Err(reason) => {
                warn!("write to {id} refused: {reason}");
                self.restore(&id).await;
            }
        }
    }

    pub(super) async fn on_write_result(&mut self, res: writes::WriteResult) {
        if let Ok(answer) = &res.result {
            self.show_answer(&res.call, answer).await;
        }
        match res.result {
            Ok(answer) if !self.armed_as_asked(&res.call, &answer).await => {
                // Nothing was armed: like a refused call, the state shows the real mode
                // again and an action keeps the user's command unacknowledged.
                self.actions.remove(&res.id);
                self.restore(&res.id).await;
            }
            Ok(_) => {
                if let Some(val) = self.actions.remove(&res.id) {
                    self.ack_action(res.id, val).await;
                    return;
                }
                // Acknowledged when the cloud pushes the new value; until the deadline.
                if self.states.get(&res.id).is_some_and(|m| m.commanded) {
                    self.awaiting
                        .insert(res.id, Instant::now() + self.opts.confirm_timeout);
                }
            }
            Err(e) => {
                // An action keeps the user's command, unacknowledged: it did not happen.
                self.actions.remove(&res.id);
                error!(
                    "control call {} for {} failed: {e}; the state shows the real value again",
                    res.call.path, res.id
                );
                self.restore(&res.id).await;
            }
        }
    }

    /// The journal read a `SECURITY_JOURNAL_CHANGED` asks for (once), under the id of
    /// `readSecurityJournal`; None without one or without the security solution.
    pub(super) fn journal_read(&mut self) -> Option<(String, crate::cloud::ControlCall)> {
        if !std::mem::take(&mut self.journal_changed) {
            return None;
        }
        let model = self.model.as_ref()?;
        tree::alarm::panel(model)?;
        let id = tree::alarm::state_id(self.ns(), model, tree::alarm::journal::READ);
        Some((id, tree::alarm::journal::call()))
    }

    /// What the answer of a read shows: the security journal's states.
    pub(super) async fn show_answer(&mut self, call: &crate::cloud::ControlCall, answer: &Value) {
        let Some(model) = &self.model else {
            return;
        };
        if let Some(values) = tree::alarm::journal::values(self.ns(), model, call, answer) {
            self.write_values(values).await;
        }
    }

    /// Whether an arming call of the request-based alarm panel armed: its answer lists what
    /// blocked it, if anything. The list goes to `alarmActivationProblems` (emptied by a
    /// successful arming) and, when there is one, to one log line naming each device.
    /// Every other call is taken as the cloud answered it.
    pub(super) async fn armed_as_asked(
        &mut self,
        call: &crate::cloud::ControlCall,
        answer: &Value,
    ) -> bool {
        if !tree::alarm::reports_problems(&call.path) {
            return true;
        }
        let Some(model) = &self.model else {
            return true;
        };
        let problems = tree::alarm::problems::parse(model, answer);
        let value = tree::alarm::problems::state_value(self.ns(), model, &problems);
        let blocked = !problems.is_empty();
        if blocked {
            warn!("{}", tree::alarm::problems::message(call, &problems));
        }
        self.write_values(vec![value]).await;
        !blocked
    }

    /// Commands the cloud did not confirm in time: show the real value again.
    pub(super) async fn expire_awaiting(&mut self) {
        let now = Instant::now();
        let late: Vec<String> = self
            .held
            .iter()
            .filter(|(_, (_, t))| *t <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in late {
            self.held.shift_remove(&id);
            warn!("write to {id} refused: the home is not loaded yet (not connected to the cloud)");
            self.restore(&id).await;
        }
        let expired: Vec<String> = self
            .awaiting
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.awaiting.remove(&id);
            debug!(%id, "no confirmation from the cloud; showing the real value");
            self.restore(&id).await;
        }
    }

    /// Acknowledge an action the cloud accepted, as written. No mirror: the state has no
    /// value of the cloud to show or to restore, and the next command is an action again.
    pub(super) async fn ack_action(&mut self, id: String, val: Value) {
        let now = now_ms();
        let st = IobState {
            val,
            ack: true,
            ts: now,
            lc: now,
            from: self.from.clone(),
            q: 0,
            user: None,
            c: None,
        };
        if let Err(e) = self.store.set_states(vec![(id, st)]).await {
            error!("writing states failed: {e}");
        }
    }

    /// Make each secret parameter's state show only whether a value is kept. A value found
    /// in the state itself (kept there by an earlier version, or by ioBroker.hmip) moves to
    /// the keeper first: it must not stay readable in the database.
    pub(super) async fn settle_secrets(&mut self, ids: Vec<String>) {
        let mut shown = Vec::new();
        for id in ids {
            let mirrored = self.states.get(&id);
            let found = mirrored.map(|m| m.val.to_value());
            let written = mirrored.is_some_and(|m| m.commanded);
            if let Some(Value::String(v)) = &found {
                // Whatever else it holds is a PIN written after the one kept (the state
                // shows the mask while one is kept): it replaces it; "" written (not
                // acknowledged) forgets it.
                if (!v.is_empty() || written) && v != tree::SECRET_MASK {
                    match self.opts.secrets.set(&id, v).await {
                        Ok(()) if v.is_empty() => info!(%id, "PIN forgotten, as the state says"),
                        Ok(()) => {
                            info!(%id, "a PIN found in the state moved to where the tokens are kept")
                        }
                        Err(e) => {
                            // Left where it is rather than lost.
                            error!("the PIN in {id} could not be moved out of the state: {e:#}");
                            continue;
                        }
                    }
                }
            }
            let want = self.opts.secrets.shown(&id);
            // Like every parameter, one never written and never kept has no state.
            let unset = found.is_none() && want.is_empty();
            if !unset && found.as_ref().and_then(Value::as_str) != Some(want) {
                if let Some(m) = self.states.get_mut(&id) {
                    m.commanded = true; // acknowledge even an equal value
                }
                shown.push(tree::TreeValue {
                    id,
                    val: Value::String(want.into()),
                });
            }
        }
        if !shown.is_empty() {
            self.write_values(shown).await;
        }
    }

    /// Write the last confirmed value again (acknowledged), replacing a user command.
    pub(super) async fn restore(&mut self, id: &str) {
        if let Some(m) = self.states.get_mut(id) {
            m.commanded = true; // force the write
            let val = m.val.to_value();
            self.write_values(vec![tree::TreeValue {
                id: id.to_string(),
                val,
            }])
            .await;
        }
    }
}

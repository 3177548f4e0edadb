//! iobroker-hmip: a Homematic IP cloud adapter for ioBroker in one small binary.
//!
//! Layers, each only looking down (see the README and docs):
//! - [`cloud`]: the HmIP cloud protocol (lookup, pairing, REST control, websocket events),
//!   a typed model that keeps unknown fields. Knows nothing of ioBroker.
//! - [`hcu`]: the HCU's local Connect API (pairing, certificate pin, websocket transport),
//!   the second transport behind the cloud's `Transport` trait. Knows nothing of ioBroker.
//! - [`iobroker`]: the ioBroker data shapes (objects, states, id patterns). Pure types.
//! - [`tree`]: HmIP model -> ioBroker objects and states, state writes -> control calls.
//!   Pure functions and tables.
//! - [`store`]: the ioBroker databases behind one trait.
//! - [`adapter`]: the runtime wiring cloud -> tree -> store and back.
//! - [`sim`]: a simulated HmIP cloud for demos and tests.
//! - [`web`]: the standalone HTTP API.
//! - [`backoff`]: the one jittered backoff of every retry loop.
//! - [`compact`], [`shared_text`]: compact JSON values and one shared copy per text, for
//!   the model's fields and the stores' states.
//! - [`allocator`]: glibc's settings for the process, and giving transient memory back.
//! - [`private_file`]: the one way a file with user data is written (owner-only, atomic).
//! - [`app`]: each way the command runs (instance, standalone, pair, sim), wired from the
//!   above; the binary only parses its arguments and calls in here.

pub mod adapter;
pub mod allocator;
pub mod app;
pub mod backoff;
pub mod cloud;
pub mod compact;
pub mod hcu;
pub mod iobroker;
pub mod private_file;
pub mod shared_text;
pub mod sim;
pub mod store;
pub mod tree;
pub mod web;

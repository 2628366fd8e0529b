//! Helpers shared by the cargo integration tests: a real Consul agent on loopback, a fake
//! one for faults, the settings of the identities they open, and one way to wait.
#![allow(dead_code)]

pub mod consul;
pub mod fake_agent;
pub mod settings;
pub mod wait;

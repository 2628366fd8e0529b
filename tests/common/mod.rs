//! Helpers shared by the cargo integration tests: a real Consul agent on loopback.
#![allow(dead_code)]

pub mod consul;
pub mod fake_agent;

//! Rotation latency against a real Consul dev agent: for repeated CA rotations, the time
//! from the moment the agent serves the new roots (and, separately, the re-issued leaf) to
//! the moment our snapshot publishes them. Pollers timestamp the agent side every 5 ms, so
//! figures carry about ±5 ms of resolution.
//!
//! Run with `cargo bench --bench rotation` (`ROTATIONS=n` to change the count). Under
//! `cargo test` it only prints that it was skipped.

#[path = "../tests/common/consul.rs"]
#[allow(dead_code)]
mod consul;

use consul_connect::config::Settings;
use consul_connect::Identity;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("rotation: skipped (run with `cargo bench --bench rotation`)");
        return;
    }
    let rotations: usize = std::env::var("ROTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let agent = consul::Consul::start();
    let props: BTreeMap<String, String> = [
        ("consul.address", agent.http_addr()),
        ("consul.service", "trino".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let identity =
        Identity::open(Settings::from_sources(&props, |_| None).expect("settings")).expect("open");
    identity.wait_ready(Duration::from_secs(30)).expect("ready");

    let mut roots_ms = Vec::new();
    let mut leaf_ms = Vec::new();
    let mut total_ms = Vec::new();
    for i in 0..rotations {
        let before = identity.snapshot().expect("snapshot");
        let old_root = before.roots.active().expect("active").id.clone();
        let old_serial = before.leaf.info.serial.clone();

        // Agent-side timestamps.
        let seen: Arc<Mutex<(Option<Instant>, Option<Instant>)>> = Arc::default();
        let poller = {
            let seen = seen.clone();
            let addr = agent.http_addr();
            let (old_root, old_serial) = (old_root.clone(), old_serial.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while Instant::now() < deadline {
                    let mut s = seen.lock().unwrap();
                    if s.0.is_none() {
                        if let Ok(body) =
                            consul::http_get(&format!("{addr}/v1/agent/connect/ca/roots"))
                        {
                            let v: serde_json::Value =
                                serde_json::from_str(&body).unwrap_or_default();
                            if v["ActiveRootID"].as_str().is_some_and(|id| id != old_root) {
                                s.0 = Some(Instant::now());
                            }
                        }
                    }
                    if s.1.is_none() {
                        if let Ok(body) =
                            consul::http_get(&format!("{addr}/v1/agent/connect/ca/leaf/trino"))
                        {
                            let v: serde_json::Value =
                                serde_json::from_str(&body).unwrap_or_default();
                            let serial = v["SerialNumber"]
                                .as_str()
                                .unwrap_or_default()
                                .to_ascii_lowercase();
                            if !serial.is_empty() && serial != old_serial {
                                s.1 = Some(Instant::now());
                            }
                        }
                    }
                    if s.0.is_some() && s.1.is_some() {
                        return;
                    }
                    drop(s);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };

        // Our side: wake on every new generation.
        let mut changes = identity.store().subscribe();
        let (key_type, bits) = if i % 2 == 0 { ("ec", 384) } else { ("ec", 256) };
        agent.rotate_ca(key_type, bits);
        let put_returned = Instant::now();
        let (mut roots_at, mut leaf_at) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(60);
        while roots_at.is_none() || leaf_at.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "rotation {i} not published");
            let _ = identity
                .runtime()
                .block_on(async { tokio::time::timeout(left, changes.changed()).await });
            let now = Instant::now();
            let snap = identity.snapshot().expect("snapshot");
            if roots_at.is_none() && snap.roots.active().is_some_and(|r| r.id != old_root) {
                roots_at = Some(now);
            }
            if leaf_at.is_none() && snap.leaf.info.serial != old_serial {
                leaf_at = Some(now);
            }
        }
        poller.join().expect("poller");
        let (agent_roots, agent_leaf) = *seen.lock().unwrap();
        let ms = |ours: Option<Instant>, theirs: Option<Instant>| -> f64 {
            let (ours, theirs) = (ours.expect("ours"), theirs.expect("agent side seen"));
            // Negative when our watch beat the poller: count it as zero.
            ours.checked_duration_since(theirs)
                .unwrap_or_default()
                .as_secs_f64()
                * 1000.0
        };
        roots_ms.push(ms(roots_at, agent_roots));
        leaf_ms.push(ms(leaf_at, agent_leaf));
        total_ms.push(ms(leaf_at, Some(put_returned)));
        println!(
            "rotation {i}: roots +{:.1} ms, leaf +{:.1} ms after the agent served them; new leaf in the snapshot {:.1} ms after the CA change was accepted",
            roots_ms[i], leaf_ms[i], total_ms[i]
        );
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (rm, rx) = stats(&mut roots_ms);
    let (lm, lx) = stats(&mut leaf_ms);
    let (tm, tx) = stats(&mut total_ms);
    println!(
        "CA change accepted -> re-issued leaf in the snapshot: median {tm:.1} ms max {tx:.1} ms"
    );
    println!("rotation latency over {rotations} CA rotations: roots median {rm:.1} ms max {rx:.1} ms; leaf median {lm:.1} ms max {lx:.1} ms");
}

//! The SPIFFE id parser (`ServiceId::parse`) and expected peer identities
//! (`peer::Expected`), with round trips.
#![no_main]

use consul_connect::{fuzzing, ServiceId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = ServiceId::parse(&text) {
        // The canonical form parses to the same id, and is its own canonical form.
        let uri = id.to_uri();
        let again = ServiceId::parse(&uri).expect("canonical form parses");
        assert_eq!(again, id);
        assert_eq!(again.to_uri(), uri);
        assert_eq!(fuzzing::expected_matches(&uri, &id, &id).ok(), Some(true));
        // A bare service name (when it is one Expected accepts) matches in our namespace.
        if let Ok(matches) = fuzzing::expected_matches(&id.service, &id, &id) {
            assert!(matches);
        }
    }
    if let Ok(canonical) = fuzzing::expected(&text) {
        // The canonical form of an expectation is stable.
        assert_eq!(
            fuzzing::expected(&canonical).ok().as_deref(),
            Some(canonical.as_str())
        );
    }
});

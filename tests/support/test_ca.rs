//! `test-ca`: a throwaway Connect-shaped CA for the end-to-end tests, which need leaves whose
//! lifetime is minutes (Consul's own leaf TTL cannot go below an hour).
//!
//! ```text
//! test-ca ca   DIR NAME TRUST_DOMAIN                       # DIR/NAME.key, DIR/NAME.pem
//! test-ca leaf DIR CA SERVICE TRUST_DOMAIN SECONDS KEY CHAIN
//! ```
//!
//! Roots look like Consul's (a CA certificate with the URI SAN `spiffe://<trust domain>`);
//! leaves too: an empty subject, one URI SAN `spiffe://<td>/ns/default/dc/dc1/svc/<service>`,
//! server and client usage, valid from a minute ago for `SECONDS`. Keys are PKCS#8 PEM;
//! files are written 0600 and renamed into place, so a poller never reads half a file.
//! A test helper (an example target), not part of the product.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn ca_params(name: &str, trust_domain: &str) -> Res<CertificateParams> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.subject_alt_names = vec![SanType::URI(format!("spiffe://{trust_domain}").try_into()?)];
    let now = SystemTime::now();
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + Duration::from_secs(30 * 86400)).into();
    Ok(params)
}

fn write_private(path: &Path, text: &str) -> Res<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["ca", dir, name, td] => {
            let key = KeyPair::generate()?;
            let cert = ca_params(name, td)?.self_signed(&key)?;
            let dir = PathBuf::from(dir);
            write_private(&dir.join(format!("{name}.key")), &key.serialize_pem())?;
            write_private(&dir.join(format!("{name}.pem")), &cert.pem())?;
        }
        ["leaf", dir, ca, service, td, seconds, key_out, chain_out] => {
            let dir = PathBuf::from(dir);
            let ca_key =
                KeyPair::from_pem(&std::fs::read_to_string(dir.join(format!("{ca}.key")))?)?;
            // Same name and key as the CA certificate: that is all a signature needs.
            let ca_params = ca_params(ca, td)?;
            let issuer = Issuer::from_params(&ca_params, &ca_key);
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::default();
            params.distinguished_name = DistinguishedName::new();
            params.subject_alt_names = vec![SanType::URI(
                format!("spiffe://{td}/ns/default/dc/dc1/svc/{service}").try_into()?,
            )];
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
                KeyUsagePurpose::KeyAgreement,
            ];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            params.use_authority_key_identifier_extension = true;
            let now = SystemTime::now();
            params.not_before = (now - Duration::from_secs(60)).into();
            params.not_after = (now + Duration::from_secs(seconds.parse()?)).into();
            // Unique per leaf (nanoseconds), positive (top bit clear).
            let mut serial = now
                .duration_since(SystemTime::UNIX_EPOCH)?
                .as_nanos()
                .to_be_bytes();
            serial[4] &= 0x7f;
            params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial[4..]));
            let cert = params.signed_by(&key, &issuer)?;
            write_private(Path::new(key_out), &key.serialize_pem())?;
            write_private(Path::new(chain_out), &cert.pem())?;
        }
        _ => {
            eprintln!("usage: test-ca ca DIR NAME TRUST_DOMAIN | test-ca leaf DIR CA SERVICE TRUST_DOMAIN SECONDS KEY CHAIN");
            std::process::exit(2);
        }
    }
    Ok(())
}

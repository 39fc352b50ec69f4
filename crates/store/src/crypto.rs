//! Credentials encrypted at rest: AES-256-GCM under a keyring of named 256-bit keys.
//!
//! The first key of the keyring seals, any key opens, so a key is rotated by putting a new
//! one first, sealing everything again (`ledgerlink key rotate`) and then dropping the old one.
//! A sealed value is text, `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`, with a random
//! 96-bit nonce per sealing. The associated data binds the value to its tenant and purpose,
//! `ledgerlink|<connection id>|<field>`, so a value copied to another connection or another
//! field does not open.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The environment variable that holds the keyring: `id:base64,id:base64`, current key first.
pub const KEY_ENV: &str = "LEDGERLINK_KEY";
/// What marks a sealed value in the settings file: `enc:v1:<key id>:<data>`.
pub const SETTINGS_PREFIX: &str = "enc:";

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// One or more keys; the first seals, any opens. Its `Debug` shows the key ids only.
#[derive(Clone)]
pub struct Keyring {
    keys: Arc<[NamedKey]>,
}

struct NamedKey {
    id: String,
    /// Zeroized on drop (the `zeroize` feature); the raw key bytes are not kept.
    cipher: Aes256Gcm,
}

/// A keyring that cannot be used, in words that say what to fix; never quotes a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyringError(String);

/// Why a sealed value did not open. Never quotes the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("not a sealed value (`v1:<key id>:<data>`)")]
    Malformed,
    #[error("sealed with key `{0}`, which is not in the keyring")]
    UnknownKey(String),
    #[error(
        "does not decrypt with key `{0}`: it was sealed for another connection or field, or altered"
    )]
    Mismatch(String),
}

impl Keyring {
    /// Parses keys separated by commas or lines, current first: `id:base64` (32 bytes), or
    /// bare base64, whose id is then its fingerprint. Blank lines and `#` comments are skipped.
    /// `origin` names where the text came from in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Keyring, KeyringError> {
        let mut keys: Vec<NamedKey> = Vec::new();
        let entries = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty() && !entry.starts_with('#'));
        for (n, entry) in entries.enumerate() {
            let invalid =
                |problem: &str| KeyringError(format!("{origin}, key {}: {problem}", n + 1));
            let (id, encoded) = match entry.split_once(':') {
                Some((id, encoded)) => (Some(id.trim()), encoded.trim()),
                None => (None, entry),
            };
            let bytes = Zeroizing::new(
                BASE64
                    .decode(encoded)
                    .map_err(|_| invalid("not base64 (`ledgerlink key generate` makes a key)"))?,
            );
            if bytes.len() != KEY_LEN {
                return Err(invalid(&format!(
                    "{} bytes where a key has {KEY_LEN} (`ledgerlink key generate` makes one)",
                    bytes.len()
                )));
            }
            let id = match id {
                Some(id) => {
                    check_id(id).map_err(|problem| invalid(&problem))?;
                    id.to_string()
                }
                None => fingerprint(&bytes),
            };
            if keys.iter().any(|key| key.id == id) {
                return Err(invalid(&format!("the key id `{id}` is used twice")));
            }
            keys.push(NamedKey {
                id,
                cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
            });
        }
        if keys.is_empty() {
            return Err(KeyringError(format!(
                "{origin} holds no key (`ledgerlink key generate` makes one)"
            )));
        }
        Ok(Keyring { keys: keys.into() })
    }

    /// The keyring in `LEDGERLINK_KEY`, if it is set (and not empty).
    pub fn from_env() -> Result<Option<Keyring>, KeyringError> {
        match std::env::var(KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => Keyring::parse(&text, KEY_ENV).map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(KeyringError(format!("{KEY_ENV} is not text")))
            }
        }
    }

    /// The keyring in a key file (one key a line, current first). A file its group or others
    /// may access is refused: the key opens every credential in the ledger.
    pub fn from_file(path: &Path) -> Result<Keyring, KeyringError> {
        let shown = path.display();
        let metadata = std::fs::metadata(path)
            .map_err(|e| KeyringError(format!("cannot read the key file {shown}: {e}")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyringError(format!(
                    "the key file {shown} may be read by its group or others (mode {mode:03o}); \
                     make it private with `chmod 600 {shown}`"
                )));
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| KeyringError(format!("cannot read the key file {shown}: {e}")))?,
        );
        Keyring::parse(&text, &format!("the key file {shown}"))
    }

    /// Writes a new key file (mode 0600, refusing to replace one) holding one new key, and
    /// returns its keyring.
    pub fn create_file(path: &Path) -> Result<Keyring, KeyringError> {
        use std::io::Write;
        let line = new_key_line(None)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| {
            KeyringError(format!(
                "cannot create the key file {}: {e}",
                path.display()
            ))
        })?;
        file.write_all(format!("{}\n", *line).as_bytes())
            .map_err(|e| {
                KeyringError(format!("cannot write the key file {}: {e}", path.display()))
            })?;
        Keyring::parse(&line, &format!("the key file {}", path.display()))
    }

    /// A keyring of one new random key that lives only in this process: for an in-memory
    /// ledger, which is gone with it.
    pub fn ephemeral() -> Keyring {
        let line = new_key_line(None).expect("a fingerprint is a valid key id");
        Keyring::parse(&line, "a new key").expect("a new key parses")
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Every key's id, current first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.id.as_str())
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids().any(|known| known == id)
    }

    /// Seals `plaintext` with the current key for `field` of `connection`.
    pub fn seal(&self, plaintext: &str, connection: &str, field: &str) -> String {
        let key = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(connection, field);
        let ciphertext = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM seals any message shorter than 64 GiB");
        let mut data = nonce.to_vec();
        data.extend_from_slice(&ciphertext);
        format!("{VERSION}:{}:{}", key.id, BASE64.encode(data))
    }

    /// Opens a value sealed for `field` of `connection`, with whichever key it names.
    pub fn open(&self, sealed: &str, connection: &str, field: &str) -> Result<String, SealError> {
        let (id, data) = split(sealed).ok_or(SealError::Malformed)?;
        let data = BASE64.decode(data).map_err(|_| SealError::Malformed)?;
        if data.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let key = self
            .keys
            .iter()
            .find(|key| key.id == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_string()))?;
        let (nonce, ciphertext) = data.split_at(NONCE_LEN);
        let aad = associated_data(connection, field);
        let plaintext = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Mismatch(id.to_string()))?;
        String::from_utf8(plaintext).map_err(|_| SealError::Malformed)
    }

    /// The id of the key a sealed value names, if it is one.
    pub fn key_id(sealed: &str) -> Option<&str> {
        split(sealed).map(|(id, _)| id)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

/// A new random key as a keyring line, `<id>:<base64>`; the id is the key's fingerprint
/// unless one is given.
pub fn new_key_line(id: Option<&str>) -> Result<Zeroizing<String>, KeyringError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(key.as_mut());
    let id = match id {
        Some(id) => {
            check_id(id).map_err(KeyringError)?;
            id.to_string()
        }
        None => fingerprint(key.as_ref()),
    };
    Ok(Zeroizing::new(format!(
        "{id}:{}",
        BASE64.encode(key.as_ref())
    )))
}

fn associated_data(connection: &str, field: &str) -> String {
    format!("ledgerlink|{connection}|{field}")
}

fn split(sealed: &str) -> Option<(&str, &str)> {
    let rest = sealed.strip_prefix(VERSION)?.strip_prefix(':')?;
    rest.split_once(':')
}

/// Ids name keys in sealed values and keyrings, so they cannot hold the separators.
fn check_id(id: &str) -> Result<(), String> {
    let fits = (1..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fits {
        Ok(())
    } else {
        Err(format!(
            "the key id `{id}` is not 1 to 32 letters, digits, `-`, `_` or `.`"
        ))
    }
}

/// A short id derived from the key (one-way, so it tells nothing about the key).
fn fingerprint(key: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"ledgerlink key id\0")
        .chain_update(key)
        .finalize();
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(ids: &[&str]) -> (Keyring, Vec<String>) {
        let lines: Vec<String> = ids
            .iter()
            .map(|id| new_key_line(Some(id)).unwrap().to_string())
            .collect();
        (Keyring::parse(&lines.join(","), "test").unwrap(), lines)
    }

    #[test]
    fn a_sealed_value_opens_for_its_connection_and_field_only() {
        let (ring, _) = keyring(&["a"]);
        let sealed = ring.seal("s3cret-token", "shop1", "oauth_tokens.access_token");
        assert!(sealed.starts_with("v1:a:"), "{sealed}");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(
            ring.open(&sealed, "shop1", "oauth_tokens.access_token")
                .unwrap(),
            "s3cret-token"
        );
        let mismatch = Err(SealError::Mismatch("a".into()));
        assert_eq!(
            ring.open(&sealed, "shop2", "oauth_tokens.access_token"),
            mismatch,
            "another tenant"
        );
        assert_eq!(
            ring.open(&sealed, "shop1", "oauth_tokens.refresh_token"),
            mismatch,
            "another field"
        );
        // A random nonce each time: the same secret never seals to the same text.
        assert_ne!(
            sealed,
            ring.seal("s3cret-token", "shop1", "oauth_tokens.access_token")
        );
    }

    #[test]
    fn an_altered_value_or_an_unknown_key_does_not_open() {
        let (ring, _) = keyring(&["a"]);
        let sealed = ring.seal("secret", "shop", "target.password");
        let (head, data) = sealed.rsplit_once(':').unwrap();
        let mut bytes = BASE64.decode(data).unwrap();
        bytes[NONCE_LEN] ^= 1;
        let altered = format!("{head}:{}", BASE64.encode(bytes));
        assert_eq!(
            ring.open(&altered, "shop", "target.password"),
            Err(SealError::Mismatch("a".into()))
        );
        let (other, _) = keyring(&["b"]);
        assert_eq!(
            other.open(&sealed, "shop", "target.password"),
            Err(SealError::UnknownKey("a".into()))
        );
        for malformed in ["secret", "v1:a", "v1:a:!!!", "v2:a:AAAA", "v1:a:AAAA"] {
            assert_eq!(
                ring.open(malformed, "shop", "target.password"),
                Err(SealError::Malformed),
                "{malformed}"
            );
        }
    }

    #[test]
    fn the_first_key_seals_and_any_key_opens() {
        let (old, lines) = keyring(&["old"]);
        let sealed = old.seal("secret", "shop", "target.password");
        let new_line = new_key_line(Some("new")).unwrap();
        let both = Keyring::parse(&format!("{}\n{}\n", *new_line, lines[0]), "file").unwrap();
        assert_eq!(both.current_id(), "new");
        assert_eq!(both.ids().collect::<Vec<_>>(), ["new", "old"]);
        assert_eq!(
            both.open(&sealed, "shop", "target.password").unwrap(),
            "secret"
        );
        let resealed = both.seal("secret", "shop", "target.password");
        assert_eq!(Keyring::key_id(&resealed), Some("new"));
    }

    #[test]
    fn a_bare_key_is_named_by_its_fingerprint_and_bad_keys_are_named_not_quoted() {
        let line = new_key_line(None).unwrap().to_string();
        let (id, key) = line.split_once(':').unwrap();
        assert_eq!(id.len(), 8);
        let ring = Keyring::parse(&format!("# the current key\n{key}\n"), "file").unwrap();
        assert_eq!(ring.current_id(), id);
        assert!(!format!("{ring:?}").contains(key), "Debug shows ids only");

        let short = BASE64.encode([7u8; 16]);
        let error = Keyring::parse(&format!("{line},k2:{short}"), "LEDGERLINK_KEY")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "LEDGERLINK_KEY, key 2: 16 bytes where a key has 32 (`ledgerlink key generate` makes one)"
        );
        assert!(!error.contains(&short));
        let twice = Keyring::parse(&format!("{line},{line}"), "x").unwrap_err();
        assert!(twice.to_string().contains("used twice"), "{twice}");
        let bad_id = Keyring::parse(&format!("a b:{key}"), "x").unwrap_err();
        assert!(bad_id.to_string().contains("the key id `a b`"), "{bad_id}");
        assert!(Keyring::parse(" \n# nothing\n", "x").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledgerlink.key");
        let created = Keyring::create_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            Keyring::from_file(&path).unwrap().current_id(),
            created.current_id()
        );
        assert!(
            Keyring::create_file(&path).is_err(),
            "an existing key is never replaced"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let error = Keyring::from_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("may be read by its group or others (mode 640)")
                && error.contains("chmod 600"),
            "{error}"
        );
    }
}

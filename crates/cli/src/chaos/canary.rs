//! The secrets canary of a chaos run: after the run, no credential the system handled — the
//! shops' API keys, the webhook secret, the Exact app's client secret, any access or refresh
//! token Exact issued, the key that seals them — appears in a worker's log, the audit log, an
//! HTTP answer of a worker, or a dump of the ledger.

use std::path::Path;

use ledgerlink_store::{PostgresStore, Store};

/// A place secrets must not show up in, by name, and what it holds.
pub struct Exhibit {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A secret to look for, with what it is (the report names that, never the value).
pub struct Secret {
    pub what: String,
    pub value: String,
}

/// The keys in a key file (`id:base64` a line): the base64 part of each.
pub fn key_file_secrets(path: &Path) -> anyhow::Result<Vec<Secret>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter_map(|line| line.trim().split_once(':'))
        .map(|(id, key)| Secret {
            what: format!("the sealing key {id}"),
            value: key.to_string(),
        })
        .collect())
}

/// Every worker log in `dir` (`worker-N.log`).
pub fn worker_logs(dir: &Path) -> anyhow::Result<Vec<Exhibit>> {
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("worker-") && name.ends_with(".log") {
            logs.push(Exhibit {
                bytes: std::fs::read(&path)?,
                name,
            });
        }
    }
    Ok(logs)
}

/// The ledger as a dump shows it: the SQLite file with its write-ahead log, or every text and
/// JSON column on PostgreSQL.
pub async fn ledger_dump(database: &str) -> anyhow::Result<Exhibit> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        let store = PostgresStore::connect(database).await?;
        return Ok(Exhibit {
            name: "the PostgreSQL ledger's text columns".into(),
            bytes: store.text_dump().await?.into_bytes(),
        });
    }
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(file) = std::fs::read(format!("{database}{suffix}")) {
            bytes.extend(file);
        }
    }
    Ok(Exhibit {
        name: "the SQLite ledger file and its write-ahead log".into(),
        bytes,
    })
}

/// Every request and answer the audit log keeps for the connections.
pub async fn audit_log(store: &dyn Store, connections: &[String]) -> anyhow::Result<Exhibit> {
    let mut text = String::new();
    for connection in connections {
        for entry in store.audit_entries(connection, i64::MAX).await? {
            text.push_str(&serde_json::to_string(&entry)?);
            text.push('\n');
        }
    }
    Ok(Exhibit {
        name: "the audit log".into(),
        bytes: text.into_bytes(),
    })
}

/// One problem per secret found in an exhibit; an empty exhibit is a problem too (a canary
/// over nothing proves nothing). One pass over each exhibit for all secrets at once: a full-size
/// run has hundreds of tokens and tens of megabytes of logs.
pub fn inspect(secrets: &[Secret], exhibits: &[Exhibit]) -> Vec<String> {
    let secrets: Vec<&Secret> = secrets.iter().filter(|s| !s.value.is_empty()).collect();
    let searcher = aho_corasick::AhoCorasick::new(secrets.iter().map(|s| s.value.as_bytes()))
        .expect("secrets make a searcher");
    let mut problems = Vec::new();
    for exhibit in exhibits {
        if exhibit.bytes.is_empty() {
            problems.push(format!(
                "the canary found {} empty: nothing to look at",
                exhibit.name
            ));
            continue;
        }
        let found: std::collections::BTreeSet<usize> = searcher
            .find_overlapping_iter(&exhibit.bytes)
            .map(|m| m.pattern().as_usize())
            .collect();
        for index in found {
            problems.push(format!(
                "{} appears in {}",
                secrets[index].what, exhibit.name
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> Secret {
        Secret {
            what: "the test token".into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_secret_in_an_exhibit_is_named_without_its_value() {
        let exhibits = [Exhibit {
            name: "worker-0.log".into(),
            bytes: b"INFO refreshed token=abc123secret".to_vec(),
        }];
        let problems = inspect(&[secret("abc123secret")], &exhibits);
        assert_eq!(problems, ["the test token appears in worker-0.log"]);
        // Several at once, one inside another: each is named once.
        let several = [
            Secret {
                what: "the key".into(),
                value: "123sec".into(),
            },
            secret("abc123secret"),
            secret("not there"),
        ];
        assert_eq!(
            inspect(&several, &exhibits),
            [
                "the key appears in worker-0.log",
                "the test token appears in worker-0.log"
            ]
        );
    }

    #[test]
    fn clean_and_empty_exhibits() {
        let clean = Exhibit {
            name: "clean".into(),
            bytes: b"nothing here".to_vec(),
        };
        let empty = Exhibit {
            name: "the audit log".into(),
            bytes: Vec::new(),
        };
        assert!(inspect(&[secret("abc123secret")], std::slice::from_ref(&clean)).is_empty());
        assert_eq!(
            inspect(&[secret("abc123secret")], &[empty]),
            ["the canary found the audit log empty: nothing to look at"]
        );
    }
}

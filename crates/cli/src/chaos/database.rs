//! A PostgreSQL cluster of the chaos run's own (initdb in the run's directory, its own port),
//! so that it can be stopped hard — `pg_ctl stop -m immediate`, no checkpoint, like pulling the
//! plug — and started again without touching the machine's cluster that other tests use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

pub struct PrivateCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

/// PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user then.
fn as_postgres(program: &Path) -> Command {
    let root = std::env::var("USER").is_ok_and(|u| u == "root")
        || std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        });
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {what}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

impl PrivateCluster {
    /// Creates and starts a cluster in `dir` (the binaries of the newest installed version).
    pub fn start(dir: &Path) -> anyhow::Result<PrivateCluster> {
        let version = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL's binaries are not installed (/usr/lib/postgresql)")?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|v| v.parse::<u32>().ok())
            .max()
            .context("no PostgreSQL version under /usr/lib/postgresql")?;
        let bin = PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"));
        let data = dir.join("pgdata");
        std::fs::create_dir_all(&data)?;
        // Readable by the postgres user when the run is root's.
        run(
            {
                let mut chown = Command::new("chown");
                chown.args(["-R", "postgres:postgres"]).arg(dir);
                chown
            },
            "chown of the cluster's directory",
        )
        .ok();
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut initdb = as_postgres(&bin.join("initdb"));
        initdb
            .args(["-D"])
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        run(initdb, "initdb")?;
        let cluster = PrivateCluster { bin, data, port };
        cluster.up()?;
        Ok(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn up(&self) -> anyhow::Result<()> {
        let mut start = as_postgres(&self.bin.join("pg_ctl"));
        start
            .args(["-D"])
            .arg(&self.data)
            .args(["-w", "-t", "60", "-l"])
            .arg(self.data.join("server.log"))
            .args([
                "-o",
                &format!(
                    "-p {} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200",
                    self.port
                ),
                "start",
            ]);
        run(start, "pg_ctl start")
    }

    /// Stops the server at once, as a power cut would, then starts it again after `down`.
    pub async fn crash_and_restart(&self, down: Duration) -> anyhow::Result<()> {
        let mut stop = as_postgres(&self.bin.join("pg_ctl"));
        stop.args(["-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"]);
        run(stop, "pg_ctl stop -m immediate")?;
        tokio::time::sleep(down).await;
        self.up()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let mut stop = as_postgres(&self.bin.join("pg_ctl"));
        stop.args(["-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"]);
        let _ = stop.output();
    }
}

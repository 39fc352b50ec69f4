//! The `ledgerlink serve` processes of a chaos run, each on a port of its own, and the
//! supervisor's hand that kills one with SIGKILL and starts it again.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

struct Worker {
    port: u16,
    child: Option<Child>,
    starts: usize,
}

/// Every worker process; shared with the webhook proxy, which sends to the live ones.
#[derive(Clone)]
pub struct Workers {
    binary: PathBuf,
    config: PathBuf,
    logs: PathBuf,
    workers: Arc<Mutex<Vec<Worker>>>,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Workers {
    pub async fn start(
        binary: &Path,
        config: &Path,
        logs: &Path,
        count: usize,
    ) -> anyhow::Result<Workers> {
        let mut workers = Vec::new();
        for _ in 0..count {
            workers.push(Worker {
                port: free_port()?,
                child: None,
                starts: 0,
            });
        }
        let workers = Workers {
            binary: binary.to_path_buf(),
            config: config.to_path_buf(),
            logs: logs.to_path_buf(),
            workers: Arc::new(Mutex::new(workers)),
        };
        for index in 0..count {
            workers.spawn(index)?;
        }
        for index in 0..count {
            workers.wait_until_listening(index).await?;
        }
        Ok(workers)
    }

    fn spawn(&self, index: usize) -> anyhow::Result<()> {
        let mut workers = self.workers.lock().expect("workers lock");
        let worker = &mut workers[index];
        worker.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("worker-{index}.log")))?;
        let child = Command::new(&self.binary)
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("LEDGERLINK_LISTEN", format!("127.0.0.1:{}", worker.port))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        worker.child = Some(child);
        Ok(())
    }

    async fn wait_until_listening(&self, index: usize) -> anyhow::Result<()> {
        let url = format!("http://127.0.0.1:{}/healthz", self.port(index));
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client
                .get(&url)
                .timeout(Duration::from_millis(500))
                .send()
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("worker {index} did not listen within 30 s; see worker-{index}.log")
    }

    fn port(&self, index: usize) -> u16 {
        self.workers.lock().expect("workers lock")[index].port
    }

    pub fn count(&self) -> usize {
        self.workers.lock().expect("workers lock").len()
    }

    /// Ports of the workers running now.
    pub fn live_ports(&self) -> Vec<u16> {
        self.workers
            .lock()
            .expect("workers lock")
            .iter()
            .filter(|w| w.child.is_some())
            .map(|w| w.port)
            .collect()
    }

    /// SIGKILL: no shutdown, no flush, whatever it was doing.
    pub async fn kill(&self, index: usize) -> anyhow::Result<()> {
        let child = self.workers.lock().expect("workers lock")[index]
            .child
            .take();
        if let Some(mut child) = child {
            child.start_kill()?;
            child.wait().await?;
        }
        Ok(())
    }

    pub async fn restart(&self, index: usize) -> anyhow::Result<()> {
        self.spawn(index)?;
        self.wait_until_listening(index).await
    }

    /// Kills every worker (the end of the run).
    pub async fn stop(&self) -> anyhow::Result<()> {
        for index in 0..self.count() {
            self.kill(index).await?;
        }
        Ok(())
    }
}

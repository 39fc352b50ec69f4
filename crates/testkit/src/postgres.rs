//! A PostgreSQL schema of its own per test, so tests run side by side and every run starts
//! clean: the store's tables land in it through the connection's search path.

use sqlx::{Connection, Executor, PgConnection};

/// The variable naming the PostgreSQL database tests may use (e.g.
/// `postgres://postgres@127.0.0.1:5432/test`); `.ci/run` sets it.
pub const POSTGRES_URL: &str = "LEDGERLINK_TEST_POSTGRES";

/// A schema for one test, dropped afterwards.
pub struct Schema {
    admin_url: String,
    name: String,
    /// Connects with the schema as the search path.
    pub url: String,
}

impl Schema {
    /// `None`, with a note, when no PostgreSQL is configured.
    pub async fn from_env() -> Option<Self> {
        let Ok(url) = std::env::var(POSTGRES_URL) else {
            eprintln!("note: {POSTGRES_URL} is not set, so the PostgreSQL variant is skipped");
            return None;
        };
        Some(Schema::create(url).await)
    }

    pub async fn create(admin_url: String) -> Self {
        let name = format!("ll_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        admin
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .unwrap();
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        // Named after the schema, so that its connections can be told apart when it is dropped.
        let url =
            format!("{admin_url}{separator}options[search_path]={name}&application_name={name}");
        Schema {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for Schema {
    /// Best effort, also after a failed assertion. The story's runtime may be the one dropping
    /// the schema, so a thread of its own waits for the statement.
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    // The story's pool may still be open, and a connection of a failed story
                    // inside a transaction, holding locks the drop would wait for.
                    sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1",
                    )
                    .bind(&name)
                    .execute(&mut admin)
                    .await?;
                    admin.execute("SET lock_timeout = '5s'").await?;
                    admin
                        .execute(format!("DROP SCHEMA {name} CASCADE").as_str())
                        .await?;
                    Ok::<_, sqlx::Error>(())
                })
                .map_err(|e| e.to_string())
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("note: test schema {} was not dropped: {error}", self.name);
        }
    }
}

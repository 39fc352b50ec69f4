//! `ledgerlink`: books a merchant's sales into their accounting, exactly once, to the cent.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    ledgerlink::init_logging();
    match ledgerlink::run(ledgerlink::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

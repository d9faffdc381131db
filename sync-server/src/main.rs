//! `sync-server`: settings from flags and environment, structured logs, and a clean stop on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use liveline_sync_server::{launch, Settings};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Liveline sync server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (loopback by default; put a TLS proxy in front to expose it).
    #[arg(long, env = "LIVELINE_ADDR", default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// Folder for the server's SQLite store.
    #[arg(
        long,
        env = "LIVELINE_DATA_DIR",
        default_value = "./liveline-server-data"
    )]
    data_dir: PathBuf,
    /// Log filter, for example `info` or `liveline_sync_server=debug`.
    #[arg(long, env = "LIVELINE_LOG", default_value = "info")]
    log: String,
    /// Log as JSON lines.
    #[arg(long, env = "LIVELINE_LOG_JSON")]
    log_json: bool,
    /// Seed the demo team on first start (users `*@demo.liveline`, password `demo`).
    #[arg(long, env = "LIVELINE_DEMO")]
    demo: bool,
    /// What one user's devices together may push, in KiB per second; past it, its pushes are slowed down (never refused).
    #[arg(long, env = "LIVELINE_PUSH_KIB_PER_S", default_value_t = liveline_sync_server::PUSH_KIB_PER_S)]
    push_kib_per_s: u32,
    /// What one user may push at once, in KiB.
    #[arg(long, env = "LIVELINE_PUSH_BURST_KIB", default_value_t = liveline_sync_server::PUSH_BURST_KIB)]
    push_burst_kib: u32,
    /// Address of a reverse proxy in front of the server (repeat, or separate with commas): requests from it name
    /// the client in `X-Forwarded-For`, which sign-in's rate limits key on. Without one, that header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "LIVELINE_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxy: Vec<std::net::IpAddr>,
    /// A host webhooks may reach although it resolves inside this network (an on-premises ERP), by name as written
    /// in the hook's URL (repeat, or separate with commas). Every other internal address is refused.
    #[arg(
        long = "webhook-allow-host",
        env = "LIVELINE_WEBHOOK_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    webhook_allow_host: Vec<String>,
}

// Pushes run on the blocking pool and take turns at the store's one writer: a few dozen threads keep both cores
// busy, while tokio's default of 512 let an overloaded server hold hundreds of waiting threads (1.3 GB at 1,600
// edits/s from 2,000 devices); past the limit, work waits in the pool's queue instead.
fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(32)
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)?;
    if args.log_json {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        // One event, one line: a value a client sent cannot start a forged line of its own.
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(liveline_sync_server::logs::OneLine::stdout)
            .init();
    }
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let settings = Settings {
        demo: args.demo,
        push_kib_per_s: args.push_kib_per_s,
        push_burst_kib: args.push_burst_kib,
        trusted_proxies: args.trusted_proxy,
        webhook_allow_hosts: args.webhook_allow_host,
        ..Settings::new(args.data_dir)
    };
    launch(settings, listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested");
}

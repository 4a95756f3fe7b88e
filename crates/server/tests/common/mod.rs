//! A real server on loopback for tests.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use headcount_core::NoCredentials;
use headcount_server::{Log, SequencerOptions};
use headcount_tlog::LogSigner;

pub struct TestServer {
    pub url: String,
    pub log: Arc<Log>,
    pub vkey: String,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    start_in(
        dir,
        SequencerOptions {
            batch_interval: Duration::from_millis(20),
            ..Default::default()
        },
    )
    .await
}

pub async fn start_in(dir: tempfile::TempDir, options: SequencerOptions) -> TestServer {
    let (signer, _skey, vkey) = LogSigner::generate("test.example/log").unwrap();
    let log = Log::open(dir.path(), signer, Arc::new(NoCredentials), options).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = headcount_server::serve(Arc::clone(&log), listener, async move {
        let _ = rx.await;
    });
    let task = tokio::spawn(async move { served.await.unwrap() });
    TestServer {
        url,
        log,
        vkey,
        dir,
        shutdown: Some(tx),
        task: Some(task),
    }
}

impl TestServer {
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.log.shutdown();
        self.dir
    }
}

pub fn now() -> u64 {
    headcount_server::log::unix_now()
}

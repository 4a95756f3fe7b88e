//! Tiles, entry bundles and the public checkpoint in S3-compatible object
//! storage, through `object_store`, at `<prefix>/tile/…` and
//! `<prefix>/checkpoint`: exactly the C2SP read paths, so a static file
//! server or a CDN in front of the bucket serves the log unchanged.
//!
//! Tile writes are create-only (`If-None-Match: *`): a tile, once stored, is
//! never replaced. Writing the same bytes again (a publish retried after a
//! crash) succeeds; other bytes are [`StorageError::TileConflict`]. The
//! PostgreSQL commit point publishes only committed rounds, so a correct log
//! never meets that error. Correctness does not rest on the conditional
//! write: if a server ignored it, the read-back comparison still refuses a
//! different tile on every retry, and the lease in PostgreSQL keeps a second
//! sequencer out. Partial tiles are kept (never pruned).

use std::future::Future;

use futures::StreamExt;
use headcount_storage::{StorageError, TileStore};
use headcount_tlog::{Error as TlogError, TileId, TileReader};
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};

fn s3_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::backend("s3", e)
}

/// Where the bucket is and how to sign requests.
#[derive(Clone, Debug)]
pub struct S3Location {
    /// `None`: AWS; else e.g. `http://127.0.0.1:9000` (path-style requests).
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Key prefix of the log (may be empty).
    pub prefix: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// A log's static tree in a bucket.
pub struct S3Tiles {
    store: AmazonS3,
    prefix: String,
    describe: String,
    /// Always `Some` until dropped.
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for S3Tiles {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl S3Tiles {
    pub fn new(loc: &S3Location) -> Result<S3Tiles, StorageError> {
        let mut b = AmazonS3Builder::new()
            .with_region(&loc.region)
            .with_bucket_name(&loc.bucket)
            .with_access_key_id(&loc.access_key_id)
            .with_secret_access_key(&loc.secret_access_key)
            .with_conditional_put(S3ConditionalPut::ETagMatch);
        if let Some(e) = &loc.endpoint {
            b = b
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = b.build().map_err(s3_err)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3")
            .enable_all()
            .build()
            .map_err(s3_err)?;
        let prefix = loc.prefix.trim_matches('/').to_owned();
        Ok(S3Tiles {
            store,
            describe: format!("s3://{}/{prefix}", loc.bucket),
            prefix,
            rt: Some(rt),
        })
    }

    fn key(&self, rel: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn block<F: Future>(&self, f: F) -> F::Output {
        match &self.rt {
            Some(rt) => {
                let _g = rt.enter();
                futures::executor::block_on(f)
            }
            None => unreachable!("the runtime lives as long as the store"),
        }
    }

    /// The object at `key`, if it exists.
    fn get(&self, key: &ObjectPath) -> Result<Option<Vec<u8>>, object_store::Error> {
        self.block(async {
            match self.store.get(key).await {
                Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}

impl TileReader for S3Tiles {
    fn read_tile(&self, id: TileId) -> Result<Vec<u8>, TlogError> {
        match self.get(&self.key(&id.path())) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(TlogError::TileNotFound(id)),
            Err(e) => Err(TlogError::Storage(Box::new(e))),
        }
    }
}

impl TileStore for S3Tiles {
    fn write_tile(&self, id: TileId, data: &[u8]) -> Result<(), StorageError> {
        let key = self.key(&id.path());
        let created = self.block(self.store.put_opts(
            &key,
            PutPayload::from(data.to_vec()),
            PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            },
        ));
        match created {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                match self.get(&key).map_err(s3_err)? {
                    Some(existing) if existing == data => Ok(()),
                    _ => Err(StorageError::TileConflict(id.path())),
                }
            }
            Err(e) => Err(s3_err(e)),
        }
    }

    fn write_checkpoint(&self, note: &[u8]) -> Result<(), StorageError> {
        let key = self.key("checkpoint");
        self.block(self.store.put(&key, PutPayload::from(note.to_vec())))
            .map(|_| ())
            .map_err(s3_err)
    }

    fn has_tiles(&self) -> Result<bool, StorageError> {
        let prefix = self.key("tile");
        self.block(async {
            match self.store.list(Some(&prefix)).next().await {
                None => Ok(false),
                Some(Ok(_)) => Ok(true),
                Some(Err(e)) => Err(s3_err(e)),
            }
        })
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

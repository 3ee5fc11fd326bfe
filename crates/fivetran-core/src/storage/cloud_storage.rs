//! The `CLOUD_STORAGE` sink: the rows go to `s3://bucket/file`, the body keeps `state`, `schema` and `hasMore`.
//!
//! The engine fills a [`Payload`] as for a direct response; [`CloudStorage::room`] measures it against the object
//! budget instead of the response budget, and [`CloudStorage::finish`] moves the rows into the object (no copy),
//! uploads it, and only then writes the body. A failed upload is the call's error: the body, and so the new
//! state, is never returned, and Fivetran repeats the call from the state it had. Every successful call writes its
//! object, even without rows.

use std::time::Instant;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::S3Client;
use crate::error::{Error, Result};
use crate::sink::{BoxFuture, Payload, Sink, write_body};

/// `{"insert":{},"delete":{}}` and the `softDelete` key: what an object holds beyond [`Payload::bytes`].
const OBJECT_FRAMING: usize = 48;

/// Writes the rows of one call to an S3 object.
#[derive(Debug)]
pub struct CloudStorage {
    client: S3Client,
    bucket: String,
    key: String,
    budget: usize,
    deadline: Option<Instant>,
}

impl CloudStorage {
    /// A sink writing to `s3://bucket/key` with a byte budget for the object, uploading before `deadline`.
    pub fn new(
        client: S3Client,
        bucket: &str,
        key: &str,
        budget: usize,
        deadline: Option<Instant>,
    ) -> Self {
        CloudStorage {
            client,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            budget,
            deadline,
        }
    }

    /// The object's byte budget.
    pub fn budget(&self) -> usize {
        self.budget
    }
}

impl Sink for CloudStorage {
    fn room(&self, payload: &Payload, _state_bytes: usize) -> usize {
        // The state travels in the body, not in the object; `schema_bytes` bounds the `softDelete` list.
        self.budget
            .saturating_sub(payload.bytes() + payload.schema_bytes() + OBJECT_FRAMING)
    }

    fn finish<'a>(
        &'a self,
        mut payload: Payload,
        state: &'a Map<String, Value>,
        has_more: bool,
    ) -> BoxFuture<'a, Result<Box<RawValue>>> {
        Box::pin(async move {
            let object = payload.take_object();
            self.client
                .put_object(&self.bucket, &self.key, &object, self.deadline)
                .await?;
            drop(object);
            let mut out = Vec::with_capacity(payload.schema_bytes() + 1024);
            write_body(&mut out, state, &payload, None, has_more)?;
            let text = String::from_utf8(out)
                .map_err(|_| Error::Declaration("response is not UTF-8".into()))?;
            RawValue::from_string(text)
                .map_err(|e| Error::Declaration(format!("response is not JSON: {e}")))
        })
    }
}

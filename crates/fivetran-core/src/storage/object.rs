//! A `CLOUD_STORAGE` object as the S3 client sends it: a list of shared chunks and their total length.
//!
//! The engine's [`Payload`](crate::sink::Payload) serializes each row once into per-table buffers;
//! [`Payload::take_object`](crate::sink::Payload::take_object) moves those buffers into an [`ObjectBody`] (a
//! `Vec<u8>` becomes a [`Bytes`] without a copy), and the upload streams the chunks as the request body. The data is
//! never gathered into one second buffer, and a retry re-sends the same chunks.

use bytes::Bytes;

/// The finished object: its chunks in order and their total length. Cloning shares the chunks.
#[derive(Debug, Clone, Default)]
pub struct ObjectBody {
    chunks: Vec<Bytes>,
    len: u64,
}

impl ObjectBody {
    /// An object made of `chunks`, in order (moved, not copied: a `Vec<u8>` becomes a `Bytes` without a copy).
    pub fn from_chunks(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        let mut body = ObjectBody::default();
        chunks.into_iter().for_each(|chunk| body.push(chunk));
        body
    }

    /// The object's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the object has no bytes (never the case for a finished payload).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// The whole object in one buffer (tests and small objects only: this is the copy streaming avoids).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len as usize);
        self.chunks.iter().for_each(|c| out.extend_from_slice(c));
        out
    }

    /// A request body streaming the chunks (shared, not copied); call once per attempt.
    pub fn to_request_body(&self) -> reqwest::Body {
        let chunks = self.chunks.clone();
        reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks.into_iter().map(Ok::<Bytes, std::io::Error>),
        ))
    }

    fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len() as u64;
        if !chunk.is_empty() {
            self.chunks.push(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_their_order_and_length_and_skip_empty_ones() {
        let body = ObjectBody::from_chunks([
            Bytes::from_static(b"{\"insert\":{"),
            Bytes::new(),
            Bytes::from(b"},\"delete\":{}}".to_vec()),
        ]);
        assert_eq!(body.len(), 25);
        assert_eq!(body.chunks().len(), 2);
        assert_eq!(body.to_vec(), br#"{"insert":{},"delete":{}}"#);
        assert!(!body.is_empty() && ObjectBody::default().is_empty());
    }
}

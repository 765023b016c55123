//! `compress=zlib-stream`: one zlib context per connection, every message ending with a
//! Z_SYNC_FLUSH marker (`00 00 ff ff`), as Discord does.

use flate2::{Compress, Compression, FlushCompress, Status};

/// The per-connection compressor.
pub struct ZlibStream {
    inner: Compress,
}

impl ZlibStream {
    pub fn new() -> Self {
        ZlibStream {
            inner: Compress::new(Compression::fast(), true),
        }
    }

    /// Compresses one message, sync-flushed.
    pub fn compress(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        let mut consumed = 0usize;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            let before = self.inner.total_in();
            let status = self
                .inner
                .compress_vec(&input[consumed..], &mut out, FlushCompress::Sync);
            consumed += (self.inner.total_in() - before) as usize;
            match status {
                Ok(Status::Ok | Status::BufError) if consumed < input.len() => continue,
                Ok(_) if out.ends_with(&[0, 0, 0xff, 0xff]) => return out,
                Ok(_) => continue,
                Err(_) => return out,
            }
        }
    }
}

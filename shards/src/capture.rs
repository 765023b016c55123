//! The capture format (SPEC §1): newline-delimited JSON, one gateway frame per line, exactly as
//! a shard received it: `{"shard": 0, "at": 1767225600123, "frame": {...}}`.
//!
//! [`CaptureWriter`] is what `guildflow record` writes; [`CaptureReader`] is what
//! `guildflow replay` reads. A line that is not a valid capture line is returned as an error
//! with its line number; the caller counts it and goes on.

use crate::decode::DecodeError;
use crate::RawFrame;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::io::{self, BufRead, Write};

/// The Discord epoch (2015-01-01T00:00:00Z), Unix ms: no frame was received before it.
const AT_MIN: i64 = 1_420_070_400_000;
/// 2100-01-01T00:00:00Z, Unix ms.
const AT_MAX: i64 = 4_102_444_800_000;

/// Bytes of a capture line around its frame, with room for any shard id and timestamp.
const LINE_OVERHEAD: usize = 128;

#[derive(Deserialize)]
struct Line<'a> {
    shard: u32,
    at: i64,
    #[serde(borrow)]
    frame: &'a RawValue,
}

/// Writes raw frames as capture lines.
pub struct CaptureWriter<W: Write> {
    out: W,
    lines: u64,
}

impl<W: Write> CaptureWriter<W> {
    /// Wraps a writer (buffer it: one write per line).
    pub fn new(out: W) -> Self {
        CaptureWriter { out, lines: 0 }
    }

    /// Appends one frame. The frame text is written verbatim; line breaks, which valid JSON
    /// can only hold as insignificant whitespace, become spaces so a frame stays one line.
    pub fn write(&mut self, frame: &RawFrame) -> io::Result<()> {
        write!(
            self.out,
            "{{\"shard\":{},\"at\":{},\"frame\":",
            frame.shard, frame.at
        )?;
        if frame.text.contains(['\n', '\r']) {
            self.out
                .write_all(frame.text.replace(['\n', '\r'], " ").as_bytes())?;
        } else {
            self.out.write_all(frame.text.as_bytes())?;
        }
        self.out.write_all(b"}\n")?;
        self.lines += 1;
        Ok(())
    }

    /// Lines written.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Returns the inner writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One item read from a capture.
#[derive(Debug)]
pub enum CaptureItem {
    /// A well-formed line.
    Frame {
        /// 1-based line number.
        line: u64,
        /// The frame.
        frame: RawFrame,
    },
    /// A malformed line.
    Bad {
        /// 1-based line number.
        line: u64,
        /// Why.
        error: DecodeError,
    },
}

/// Reads capture lines.
pub struct CaptureReader<R: BufRead> {
    input: R,
    buf: Vec<u8>,
    line: u64,
    bytes: u64,
}

impl<R: BufRead> CaptureReader<R> {
    /// Wraps a buffered reader.
    pub fn new(input: R) -> Self {
        CaptureReader {
            input,
            buf: Vec::new(),
            line: 0,
            bytes: 0,
        }
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The next item, None at end of input. Only I/O errors end the read; bytes that are not
    /// UTF-8 make a bad line like any other.
    pub fn next_item(&mut self) -> io::Result<Option<CaptureItem>> {
        loop {
            self.buf.clear();
            let n = self.input.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.bytes += n as u64;
            self.line += 1;
            let mut text = &self.buf[..];
            while let [rest @ .., b'\n' | b'\r'] = text {
                text = rest;
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // The line wraps the frame in `{"shard":..,"at":..,"frame":..}`: allow for that, so
            // every frame accepted live is accepted on replay.
            if text.len() > crate::decode::MAX_FRAME_BYTES + LINE_OVERHEAD {
                return Ok(Some(CaptureItem::Bad {
                    line: self.line,
                    error: DecodeError::TooLarge {
                        size: text.len(),
                        limit: crate::decode::MAX_FRAME_BYTES + LINE_OVERHEAD,
                    },
                }));
            }
            return Ok(Some(match serde_json::from_slice::<Line<'_>>(text) {
                // Receive times before Discord existed or after 2100 are corrupt, and one of
                // them would move the watermark (and "today") for every guild.
                Ok(parsed) if !(AT_MIN..=AT_MAX).contains(&parsed.at) => CaptureItem::Bad {
                    line: self.line,
                    error: DecodeError::InvalidCaptureLine(serde::de::Error::custom(format_args!(
                        "`at` {} is outside 2015-01-01..2100-01-01",
                        parsed.at
                    ))),
                },
                Ok(parsed) => CaptureItem::Frame {
                    line: self.line,
                    frame: RawFrame {
                        shard: parsed.shard,
                        at: parsed.at,
                        text: parsed.frame.get().to_owned(),
                    },
                },
                Err(error) => CaptureItem::Bad {
                    line: self.line,
                    error: DecodeError::InvalidCaptureLine(error),
                },
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reports_bad_lines() {
        let mut writer = CaptureWriter::new(Vec::new());
        let frame = RawFrame {
            shard: 3,
            at: 1_767_225_600_123,
            text: "{\"op\":0,\n\"s\":1,\"t\":\"RESUMED\",\"d\":{}}".into(),
        };
        writer.write(&frame).unwrap();
        let mut bytes = writer.into_inner();
        bytes.extend_from_slice(b"not json\n\n{\"shard\":\"x\",\"at\":1,\"frame\":{}}\n\xff\xfe\n");
        bytes.extend_from_slice(b"{\"shard\":0,\"at\":1,\"frame\":{\"op\":11}}\n");
        let mut reader = CaptureReader::new(&bytes[..]);
        match reader.next_item().unwrap() {
            Some(CaptureItem::Frame { line, frame: got }) => {
                assert_eq!(line, 1);
                assert_eq!(got.shard, 3);
                assert_eq!(got.at, frame.at);
                assert_eq!(got.text, "{\"op\":0, \"s\":1,\"t\":\"RESUMED\",\"d\":{}}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            reader.next_item().unwrap(),
            Some(CaptureItem::Bad { line: 2, .. })
        ));
        assert!(matches!(
            reader.next_item().unwrap(),
            Some(CaptureItem::Bad { line: 4, .. })
        ));
        assert!(matches!(
            reader.next_item().unwrap(),
            Some(CaptureItem::Bad { line: 5, .. })
        ));
        // A receive time before 2015 is corrupt.
        assert!(matches!(
            reader.next_item().unwrap(),
            Some(CaptureItem::Bad { line: 6, .. })
        ));
        assert!(reader.next_item().unwrap().is_none());
    }
}

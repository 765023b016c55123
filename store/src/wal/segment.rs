//! One segment file: scanning (with recovery), reading, appending.

use super::record::{decode_frame, HEADER, MAX_PAYLOAD};
use super::Lsn;
use guildflow_model::RawFrame;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub(super) struct Segment {
    pub path: PathBuf,
    pub first_lsn: Lsn,
}

pub(super) struct Scan {
    pub records: u64,
    pub corrupt: u64,
    pub truncated_bytes: u64,
}

enum Next {
    Record {
        payload_at: usize,
        len: usize,
        valid: bool,
    },
    /// Incomplete header or payload at the end.
    Torn,
    End,
}

fn next(bytes: &[u8], at: usize) -> Next {
    if at == bytes.len() {
        return Next::End;
    }
    let Some(header) = bytes.get(at..at + HEADER) else {
        return Next::Torn;
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let payload_at = at + HEADER;
    if len > MAX_PAYLOAD {
        return Next::Torn;
    }
    match bytes.get(payload_at..payload_at + len) {
        Some(payload) => Next::Record {
            payload_at,
            len,
            valid: crc32fast::hash(payload) == crc,
        },
        None => Next::Torn,
    }
}

pub(super) fn list(dir: &Path) -> io::Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(lsn) = name
            .strip_prefix("wal-")
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<Lsn>().ok())
        else {
            continue;
        };
        segments.push(Segment {
            path: entry.path(),
            first_lsn: lsn,
        });
    }
    segments.sort_by_key(|s| s.first_lsn);
    Ok(segments)
}

impl Segment {
    pub fn create(dir: &Path, first_lsn: Lsn) -> io::Result<Segment> {
        let path = dir.join(format!("wal-{first_lsn:020}.log"));
        OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Segment { path, first_lsn })
    }

    fn bytes(&self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        File::open(&self.path)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Counts records; on the last segment, truncates a torn tail.
    pub fn scan(&mut self, last: bool) -> io::Result<Scan> {
        let bytes = self.bytes()?;
        let mut scan = Scan {
            records: 0,
            corrupt: 0,
            truncated_bytes: 0,
        };
        let mut at = 0;
        loop {
            match next(&bytes, at) {
                Next::End => break,
                Next::Record {
                    payload_at,
                    len,
                    valid,
                } => {
                    if valid {
                        scan.records += 1;
                    } else {
                        scan.corrupt += 1;
                    }
                    at = payload_at + len;
                }
                Next::Torn => {
                    scan.truncated_bytes = (bytes.len() - at) as u64;
                    if last {
                        let file = OpenOptions::new().write(true).open(&self.path)?;
                        file.set_len(at as u64)?;
                        file.sync_all()?;
                    }
                    break;
                }
            }
        }
        Ok(scan)
    }

    /// Appends the valid records with LSN ≥ `from` to `out`.
    pub fn read(&self, from: Lsn, out: &mut Vec<(Lsn, RawFrame)>) -> io::Result<()> {
        let bytes = self.bytes()?;
        let mut at = 0;
        let mut lsn = self.first_lsn;
        while let Next::Record {
            payload_at,
            len,
            valid,
        } = next(&bytes, at)
        {
            if valid && lsn >= from {
                if let Some(frame) = decode_frame(&bytes[payload_at..payload_at + len]) {
                    out.push((lsn, frame));
                }
            }
            lsn += 1;
            at = payload_at + len;
        }
        Ok(())
    }

    /// A handle appending at the end, and the current size.
    pub fn append_handle(&self) -> io::Result<(File, u64)> {
        let file = OpenOptions::new().append(true).open(&self.path)?;
        let len = file.metadata()?.len();
        Ok((file, len))
    }
}

//! One segment file: scanning (with recovery), reading, appending.

use super::record::{decode_frame, encode_tombstone, HEADER, MAX_PAYLOAD};
use super::Lsn;
use guildflow_model::RawFrame;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
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

/// Name a rewritten segment is written under before it replaces the segment. `list` ignores
/// it (it does not end in `.log`).
pub(super) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Deletes the temp files of rewrites a crash interrupted (the segment itself is intact).
pub(super) fn remove_temps(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("wal-") && name.ends_with(".log.tmp") {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
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

    /// Replaces every record `erase` selects by a tombstone, writing the new content to
    /// `<name>.tmp`, fsyncing it and renaming it over this file (the caller fsyncs the
    /// directory); returns how many were replaced. The file is not touched when none is.
    ///
    /// Every other byte is copied as it is: the record count, hence every LSN, is unchanged,
    /// and bytes a corrupt length made unreadable stay unreadable rather than being guessed at.
    pub fn erase(&self, erase: &mut dyn FnMut(Lsn, &RawFrame) -> bool) -> io::Result<u64> {
        let bytes = self.bytes()?;
        let mut out = Vec::with_capacity(bytes.len());
        let mut erased = 0;
        let mut at = 0;
        let mut lsn = self.first_lsn;
        while let Next::Record {
            payload_at, len, ..
        } = next(&bytes, at)
        {
            let end = payload_at + len;
            // Records failing their CRC are checked too: a flipped bit elsewhere in the
            // payload does not make the member's frame anyone else's.
            let hit = decode_frame(&bytes[payload_at..end]).is_some_and(|f| erase(lsn, &f));
            if hit {
                encode_tombstone(&mut out);
                erased += 1;
            } else {
                out.extend_from_slice(&bytes[at..end]);
            }
            lsn += 1;
            at = end;
        }
        if erased == 0 {
            return Ok(0);
        }
        out.extend_from_slice(&bytes[at..]);
        let tmp = temp_path(&self.path);
        let mut file = File::create(&tmp)?;
        let written = file.write_all(&out).and_then(|()| file.sync_all());
        drop(file);
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, &self.path)) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(erased)
    }

    /// A handle appending at the end, and the current size.
    pub fn append_handle(&self) -> io::Result<(File, u64)> {
        let file = OpenOptions::new().append(true).open(&self.path)?;
        let len = file.metadata()?.len();
        Ok((file, len))
    }
}

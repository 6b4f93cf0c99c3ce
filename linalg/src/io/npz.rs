//! NumPy `.npz` archives: a ZIP file of `.npy` members, as `numpy.savez`
//! writes them (stored, uncompressed), so `numpy.load("x.npz")` and
//! `torch`/`jax` loaders read them directly.
//!
//! The writer builds every member in memory and writes the archive through
//! [`atomic_write`]: an archive is either complete or absent. Members and
//! the archive are limited to 4 GiB (no ZIP64); larger data sets belong in
//! HDF5. The reader handles stored members (what this writer and
//! `numpy.savez` produce) and rejects compressed ones with a clear error.

use super::atomic_write;
use super::npy::{decode, encode, NpyArray};
use crate::error::{LinalgError, Result};
use std::path::Path;

/// An archive under construction.
#[derive(Debug, Default)]
pub struct NpzWriter {
    members: Vec<(String, Vec<u8>)>,
}

fn fmt_err(path: &Path, message: impl Into<String>) -> LinalgError {
    LinalgError::Format {
        path: path.to_path_buf(),
        line: None,
        message: message.into(),
    }
}

impl NpzWriter {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, name: &str, bytes: Vec<u8>) -> Result<()> {
        if name.is_empty() || name.contains('/') || self.members.iter().any(|(n, _)| n == name) {
            return Err(LinalgError::Unsupported(format!(
                "npz member name '{name}' is empty, contains '/', or is used twice"
            )));
        }
        self.members.push((name.to_string(), bytes));
        Ok(())
    }

    /// Adds array `name` of element type `T` (`f32`, `f64`, `i64`, `u8`, …).
    pub fn add<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[T],
    ) -> Result<()> {
        let bytes = encode(shape, data)?;
        self.push(name, bytes)
    }

    /// Adds a 0-d unicode string array (`numpy` dtype `<U…`): `str(z[name])`
    /// gives the text back.
    pub fn add_str(&mut self, name: &str, text: &str) -> Result<()> {
        let chars: Vec<char> = text.chars().collect();
        let dict = format!(
            "{{'descr': '<U{}', 'fortran_order': False, 'shape': (), }}",
            chars.len().max(1)
        );
        // magic (6) + version (2) + header length (2) + dict + padding + '\n' ≡ 0 mod 64
        let unpadded = 10 + dict.len() + 1;
        let pad = (64 - unpadded % 64) % 64;
        let header_len = dict.len() + pad + 1;
        let mut bytes = Vec::with_capacity(10 + header_len + 4 * chars.len().max(1));
        bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
        bytes.extend_from_slice(&(header_len as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes.extend(std::iter::repeat_n(b' ', pad));
        bytes.push(b'\n');
        if chars.is_empty() {
            bytes.extend_from_slice(&0u32.to_le_bytes());
        }
        for c in chars {
            bytes.extend_from_slice(&(c as u32).to_le_bytes());
        }
        self.push(name, bytes)
    }

    /// Writes the archive to `path` atomically.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let too_big = |what: String| {
            LinalgError::Unsupported(format!(
                "{what} exceeds the 4 GiB limit of .npz without ZIP64; write HDF5 or fewer samples"
            ))
        };
        let mut archive: Vec<u8> = Vec::new();
        let mut central: Vec<u8> = Vec::new();
        for (name, data) in &self.members {
            let file = format!("{name}.npy");
            let size = u32::try_from(data.len())
                .ok()
                .filter(|&s| s < u32::MAX)
                .ok_or_else(|| too_big(format!("member '{name}'")))?;
            let offset = u32::try_from(archive.len()).map_err(|_| too_big("the archive".into()))?;
            let crc = crc32fast::hash(data);
            // local file header
            put32(&mut archive, 0x0403_4b50);
            put16(&mut archive, 20); // version needed
            put16(&mut archive, 0); // flags
            put16(&mut archive, 0); // stored
            put16(&mut archive, 0); // time
            put16(&mut archive, 0x21); // date 1980-01-01
            put32(&mut archive, crc);
            put32(&mut archive, size);
            put32(&mut archive, size);
            put16(&mut archive, file.len() as u16);
            put16(&mut archive, 0);
            archive.extend_from_slice(file.as_bytes());
            archive.extend_from_slice(data);
            // central directory entry
            put32(&mut central, 0x0201_4b50);
            put16(&mut central, 20);
            put16(&mut central, 20);
            put16(&mut central, 0);
            put16(&mut central, 0);
            put16(&mut central, 0);
            put16(&mut central, 0x21);
            put32(&mut central, crc);
            put32(&mut central, size);
            put32(&mut central, size);
            put16(&mut central, file.len() as u16);
            put16(&mut central, 0); // extra
            put16(&mut central, 0); // comment
            put16(&mut central, 0); // disk
            put16(&mut central, 0); // internal attributes
            put32(&mut central, 0); // external attributes
            put32(&mut central, offset);
            central.extend_from_slice(file.as_bytes());
        }
        let cd_offset = u32::try_from(archive.len()).map_err(|_| too_big("the archive".into()))?;
        let count = u16::try_from(self.members.len())
            .map_err(|_| LinalgError::Unsupported("more than 65535 npz members".into()))?;
        let cd_size = central.len() as u32;
        archive.extend_from_slice(&central);
        put32(&mut archive, 0x0605_4b50);
        put16(&mut archive, 0);
        put16(&mut archive, 0);
        put16(&mut archive, count);
        put16(&mut archive, count);
        put32(&mut archive, cd_size);
        put32(&mut archive, cd_offset);
        put16(&mut archive, 0);
        atomic_write(path, |w| w.write_all(&archive))
    }
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// A member read back from an archive.
#[derive(Clone, Debug, PartialEq)]
pub enum NpzMember {
    /// A numeric array (as `f64`).
    Array(NpyArray),
    /// A 0-d unicode string.
    Text(String),
}

/// Reads every member of a stored (uncompressed) `.npz` archive, in order.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<(String, NpzMember)>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| LinalgError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let u16_at = |i: usize| -> Result<u16> {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| fmt_err(path, "truncated zip archive"))
    };
    let u32_at = |i: usize| -> Result<u32> {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| fmt_err(path, "truncated zip archive"))
    };
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 4 <= bytes.len() && u32_at(pos)? == 0x0403_4b50 {
        let flags = u16_at(pos + 6)?;
        let method = u16_at(pos + 8)?;
        let crc = u32_at(pos + 14)?;
        let compressed = u32_at(pos + 18)?;
        let uncompressed = u32_at(pos + 22)?;
        let name_len = u16_at(pos + 26)? as usize;
        let extra_len = u16_at(pos + 28)? as usize;
        let name_bytes = bytes
            .get(pos + 30..pos + 30 + name_len)
            .ok_or_else(|| fmt_err(path, "truncated zip archive"))?;
        let file = String::from_utf8_lossy(name_bytes).into_owned();
        let mut size = compressed as u64;
        if compressed == u32::MAX || uncompressed == u32::MAX {
            // ZIP64 (numpy.savez forces it): sizes in extra field 0x0001, uncompressed first
            let mut e = pos + 30 + name_len;
            let end = e + extra_len;
            let mut found = false;
            while e + 4 <= end {
                let (id, len) = (u16_at(e)?, u16_at(e + 2)? as usize);
                if id == 1 {
                    let mut f = e + 4;
                    if uncompressed == u32::MAX {
                        f += 8;
                    }
                    let field = bytes.get(f..f + 8).ok_or_else(|| {
                        fmt_err(path, format!("member '{file}' has a truncated ZIP64 field"))
                    })?;
                    size = u64::from_le_bytes(field.try_into().expect("8 bytes"));
                    if compressed != u32::MAX {
                        size = compressed as u64;
                    }
                    found = true;
                    break;
                }
                e += 4 + len;
            }
            if !found {
                return Err(fmt_err(
                    path,
                    format!("member '{file}' lacks its ZIP64 size field"),
                ));
            }
        }
        let size =
            usize::try_from(size).map_err(|_| fmt_err(path, format!("member '{file}' is too large")))?;
        if method != 0 || flags & 0x8 != 0 {
            return Err(fmt_err(
                path,
                format!("member '{file}' is compressed or streamed (only stored members are read)"),
            ));
        }
        let start = pos + 30 + name_len + extra_len;
        let data = bytes
            .get(start..start + size)
            .ok_or_else(|| fmt_err(path, format!("member '{file}' is truncated")))?;
        if crc32fast::hash(data) != crc {
            return Err(fmt_err(path, format!("member '{file}' fails its CRC check")));
        }
        let name = file.strip_suffix(".npy").unwrap_or(&file).to_string();
        let member_path = path.join(&file);
        let member = if let Some(text) = decode_text(data) {
            NpzMember::Text(text)
        } else {
            NpzMember::Array(decode(data, &member_path)?)
        };
        out.push((name, member));
        pos = start + size;
    }
    if out.is_empty() {
        return Err(fmt_err(path, "not a .npz archive (no zip members found)"));
    }
    Ok(out)
}

/// The text of a 0-d `<U` array, or `None` for anything else.
fn decode_text(data: &[u8]) -> Option<String> {
    if data.len() < 10 || &data[..6] != b"\x93NUMPY" {
        return None;
    }
    let hlen = u16::from_le_bytes([data[8], data[9]]) as usize;
    let header = std::str::from_utf8(data.get(10..10 + hlen)?).ok()?;
    if !header.contains("'descr': '<U") || !header.contains("'shape': ()") {
        return None;
    }
    let body = &data[10 + hlen..];
    let text: String = body
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .take_while(|&u| u != 0)
        .filter_map(char::from_u32)
        .collect();
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_numpy_savez_writes() {
        // written by numpy.savez (ZIP64 forced): a = arange(6.).reshape(2, 3), b = int64 [7, 9]
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/numpy_savez.npz");
        let m = read(&p).unwrap();
        let get = |n: &str| m.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(
            get("a"),
            NpzMember::Array(NpyArray {
                shape: vec![2, 3],
                data: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
            })
        );
        assert_eq!(
            get("b"),
            NpzMember::Array(NpyArray {
                shape: vec![2],
                data: vec![7.0, 9.0]
            })
        );
    }

    #[test]
    fn round_trip_of_arrays_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.npz");
        let mut w = NpzWriter::new();
        w.add(
            "coeff",
            &[2, 2, 3],
            &(0..12).map(|i| i as f32 * 0.5).collect::<Vec<_>>(),
        )
        .unwrap();
        w.add("iters", &[2], &[7i64, 9]).unwrap();
        w.add_str("metadata", "{\"family\": \"darcy\", \"k\": \"π\"}")
            .unwrap();
        assert!(w.add("iters", &[1], &[1i64]).is_err(), "duplicate name");
        w.write(&p).unwrap();
        let members = read(&p).unwrap();
        assert_eq!(members.len(), 3);
        assert_eq!(members[0].0, "coeff");
        match &members[0].1 {
            NpzMember::Array(a) => {
                assert_eq!(a.shape, vec![2, 2, 3]);
                assert_eq!(a.data[5], 2.5);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            members[1].1,
            NpzMember::Array(NpyArray {
                shape: vec![2],
                data: vec![7.0, 9.0]
            })
        );
        assert_eq!(
            members[2].1,
            NpzMember::Text("{\"family\": \"darcy\", \"k\": \"π\"}".into())
        );
        // corruption is detected
        let mut bytes = std::fs::read(&p).unwrap();
        let mid = bytes.len() / 3;
        bytes[mid] ^= 0xff;
        std::fs::write(&p, &bytes).unwrap();
        assert!(read(&p).is_err());
        std::fs::write(&p, b"PK but not really").unwrap();
        assert!(read(&p).is_err());
    }
}

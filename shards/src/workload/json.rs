//! JSON writing primitives: numbers, quoted ids, escaped strings and image hashes appended to
//! a `String`, without intermediate allocations.

const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal digits of `v`.
pub(crate) fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let p = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i] = PAIRS[p];
        buf[i + 1] = PAIRS[p + 1];
    }
    if v >= 10 {
        let p = v as usize * 2;
        i -= 2;
        buf[i] = PAIRS[p];
        buf[i + 1] = PAIRS[p + 1];
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    // Always ASCII digits: the check cannot fail.
    if let Ok(digits) = std::str::from_utf8(&buf[i..]) {
        out.push_str(digits);
    }
}

/// Appends the decimal digits of `v`, with a sign when negative.
pub(crate) fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends an id as Discord sends it: a quoted decimal string.
pub(crate) fn push_id(out: &mut String, id: u64) {
    out.push('"');
    push_u64(out, id);
    out.push('"');
}

/// Appends a quoted id, or `null`.
pub(crate) fn push_opt_id(out: &mut String, id: Option<u64>) {
    match id {
        Some(id) => push_id(out, id),
        None => out.push_str("null"),
    }
}

/// Appends `s` as a quoted JSON string, escaping what JSON requires.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    push_str_body(out, s);
    out.push('"');
}

/// Appends `s` escaped, without quotes.
pub(crate) fn push_str_body(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str("\\u00");
            out.push(hex_digit(u64::from(b >> 4)));
            out.push(hex_digit(u64::from(b & 0xf)));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

fn hex_digit(v: u64) -> char {
    char::from(b"0123456789abcdef"[(v & 0xf) as usize])
}

/// Appends `n` lowercase hex digits of `bits` (most significant first, `n <= 16`).
pub(crate) fn push_hex(out: &mut String, bits: u64, n: u32) {
    for k in (0..n.min(16)).rev() {
        out.push(hex_digit(bits >> (4 * k)));
    }
}

/// Appends a quoted 32-hex-digit image hash (avatar, icon) built from two words, `a_`-prefixed
/// when animated.
pub(crate) fn push_image_hash(out: &mut String, hi: u64, lo: u64, animated: bool) {
    out.push('"');
    if animated {
        out.push_str("a_");
    }
    push_hex(out, hi, 16);
    push_hex(out, lo, 16);
    out.push('"');
}

/// Appends `true` or `false`.
pub(crate) fn push_bool(out: &mut String, v: bool) {
    out.push_str(if v { "true" } else { "false" });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json() {
        let mut s = String::new();
        push_str(&mut s, "a\"b\\c\nd\u{1}é😂");
        let back: String = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(back, "a\"b\\c\nd\u{1}é😂");
        s.clear();
        push_u64(&mut s, u64::MAX);
        push_i64(&mut s, -0);
        push_i64(&mut s, -12);
        assert_eq!(s, "184467440737095516150-12");
        s.clear();
        push_image_hash(&mut s, 0xabc, 1, true);
        assert_eq!(s, "\"a_0000000000000abc0000000000000001\"");
    }
}

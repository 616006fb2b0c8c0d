// SPDX-License-Identifier: GPL-2.0

//! The listings' text (`RIPC_IOC_LIST`): numbers in decimal or octal and
//! strings, padded to a width, written straight into the page being
//! filled.  The same bytes `core::fmt` gives for `{:>W}`, `{:>Wo}` and
//! `{:<W}`, at a fraction of its cost: `core::fmt` pads a character at a
//! time through a `dyn Write` (measured, 30 000 System V queues: most of
//! the listing's time was there).

#![deny(unsafe_code)]

/// A line being written into `buf`.  Bytes past the end of `buf` are
/// counted, not stored: `len()` is the whole line's length, and the part
/// of it that fits is in `buf`.
pub(crate) struct Text<'a> {
    buf: &'a mut [u8],
    len: usize,
}

/// An integer field: its sign and magnitude.
pub(crate) trait Int: Copy {
    fn parts(self) -> (bool, u64);
}

impl Int for u32 {
    fn parts(self) -> (bool, u64) {
        (false, u64::from(self))
    }
}

impl Int for u64 {
    fn parts(self) -> (bool, u64) {
        (false, self)
    }
}

impl Int for usize {
    fn parts(self) -> (bool, u64) {
        (false, self as u64)
    }
}

impl Int for i32 {
    fn parts(self) -> (bool, u64) {
        (self < 0, u64::from(self.unsigned_abs()))
    }
}

impl Int for i64 {
    fn parts(self) -> (bool, u64) {
        (self < 0, self.unsigned_abs())
    }
}

impl<'a> Text<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Text { buf, len: 0 }
    }

    /// The length of the text so far (stored or not).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `s` as it is.
    pub(crate) fn bytes(&mut self, s: &[u8]) -> &mut Self {
        let room = self.buf.len().saturating_sub(self.len);
        let k = s.len().min(room);
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + k), s.get(..k)) {
            dst.copy_from_slice(src);
        }
        self.len += s.len();
        self
    }

    /// `n` spaces.
    fn spaces(&mut self, n: usize) -> &mut Self {
        const SPACES: [u8; 32] = [b' '; 32];
        let mut left = n;
        while left > 0 {
            let k = left.min(SPACES.len());
            self.bytes(SPACES.get(..k).unwrap_or(&[]));
            left -= k;
        }
        self
    }

    /// A space.
    pub(crate) fn sp(&mut self) -> &mut Self {
        self.bytes(b" ")
    }

    /// `v` in `radix` (8 or 10), right-aligned in `width` columns.
    fn num(&mut self, v: impl Int, radix: u64, width: usize) -> &mut Self {
        let (neg, mut m) = v.parts();
        // u64::MAX has 22 octal digits; and the sign.
        let mut d = [0u8; 24];
        let mut i = d.len();
        loop {
            i -= 1;
            if let Some(c) = d.get_mut(i) {
                *c = b'0' + (m % radix) as u8;
            }
            m /= radix;
            if m == 0 {
                break;
            }
        }
        if neg {
            i -= 1;
            if let Some(c) = d.get_mut(i) {
                *c = b'-';
            }
        }
        let digits = d.get(i..).unwrap_or(&[]);
        self.spaces(width.saturating_sub(digits.len()));
        self.bytes(digits)
    }

    /// `v` in decimal (`{}`).
    pub(crate) fn dec(&mut self, v: impl Int) -> &mut Self {
        self.num(v, 10, 0)
    }

    /// `v` in decimal, right-aligned in `width` columns (`{:>width}`).
    pub(crate) fn dec_r(&mut self, v: impl Int, width: usize) -> &mut Self {
        self.num(v, 10, width)
    }

    /// [`Self::dec_r`] of `v`, or a `-` in its place (a value the reader
    /// may not see).
    pub(crate) fn dec_r_or_dash(&mut self, v: Option<impl Int>, width: usize) -> &mut Self {
        match v {
            Some(v) => self.num(v, 10, width),
            None => self.spaces(width.saturating_sub(1)).bytes(b"-"),
        }
    }

    /// `v` in octal, right-aligned in `width` columns (`{:>widtho}`).
    pub(crate) fn oct_r(&mut self, v: impl Int, width: usize) -> &mut Self {
        self.num(v, 8, width)
    }

    /// A POSIX queue's name, left-aligned in `width` columns (a column is a
    /// character): a character that would end a field or a line, or move
    /// a terminal's cursor (a control character, C0, DEL or C1, a space,
    /// a line or paragraph separator) or start an escape (a backslash) as
    /// `\ooo` in octal for each of its bytes, as `/proc/mounts` shows
    /// paths, and so each byte above 0x7e of a name that is not UTF-8; the
    /// rest as it is.  A name is any bytes but `/` and NUL, so that a name
    /// could otherwise forge a line.
    pub(crate) fn name_l(&mut self, name: &[u8], width: usize) -> &mut Self {
        let mut cols = 0;
        match core::str::from_utf8(name) {
            Ok(s) => {
                // Runs of characters as they are, between escaped ones.
                let mut plain = 0;
                for (i, c) in s.char_indices() {
                    if c.is_control() || matches!(c, ' ' | '\\' | '\u{2028}' | '\u{2029}') {
                        self.bytes(name.get(plain..i).unwrap_or(&[]));
                        for &b in c.encode_utf8(&mut [0; 4]).as_bytes() {
                            self.octal(b);
                            cols += 4;
                        }
                        plain = i + c.len_utf8();
                    } else {
                        cols += 1;
                    }
                }
                self.bytes(name.get(plain..).unwrap_or(&[]));
            }
            Err(_) => {
                for &b in name {
                    if b <= b' ' || b > 0x7e || b == b'\\' {
                        self.octal(b);
                        cols += 4;
                    } else {
                        self.bytes(&[b]);
                        cols += 1;
                    }
                }
            }
        }
        self.spaces(width.saturating_sub(cols))
    }

    /// `b` as `\ooo`.
    fn octal(&mut self, b: u8) -> &mut Self {
        self.bytes(&[
            b'\\',
            b'0' + (b >> 6),
            b'0' + ((b >> 3) & 7),
            b'0' + (b & 7),
        ])
    }
}

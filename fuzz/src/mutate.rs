//! Input mutations for the stable-toolchain runner: a seeded PRNG and the classic byte
//! mutations of libFuzzer (flip, overwrite, insert, delete, duplicate, truncate, splice)
//! plus dictionary tokens and extreme numbers. No coverage feedback: this runner finds
//! what lies a few mutations away from the committed corpus, which is where the corpus
//! was chosen to be. Deterministic for a seed, so any failure can be replayed.

use iobroker_hmip::sim::synth::SplitMix64;

/// The mutations' random numbers: the simulator's SplitMix64 (small, fast, deterministic
/// for a seed), with a `below` that takes 0.
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.0.below(n)
        }
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes that matter to JSON and RESP.
const SPECIAL: &[u8] = b"{}[]:,\"\\ \r\n*$+-:0123456789.eEtfn\x00\xff\x80\xc3";

/// Numbers at the edges of what the code converts.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "255",
    "4294967295",
    "4294967296",
    "-2147483649",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "1e-320",
    "0.5",
    "99999999999999999999999",
];

/// Tokens from a libFuzzer dictionary file (`fuzz/dict/*.dict`): one `"token"` or
/// `name="token"` per line, `\\`, `\"` and `\xNN` escapes, `#` comments.
pub fn parse_dict(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (Some(start), Some(end)) = (line.find('"'), line.rfind('"')) else {
            continue;
        };
        if end <= start {
            continue;
        }
        let raw = &line.as_bytes()[start + 1..end];
        let mut token = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            match (raw[i], raw.get(i + 1)) {
                (b'\\', Some(b'x')) => {
                    let hex = raw
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(b) => {
                            token.push(b);
                            i += 4;
                        }
                        None => {
                            token.push(b'\\');
                            i += 1;
                        }
                    }
                }
                (b'\\', Some(&c)) => {
                    token.push(c);
                    i += 2;
                }
                (c, _) => {
                    token.push(c);
                    i += 1;
                }
            }
        }
        out.push(token);
    }
    out
}

/// A mutation of `base` (another corpus input, `other`, may be spliced in), at most
/// `max_len` bytes long unless `base` already is longer.
pub fn mutate(
    rng: &mut Rng,
    base: &[u8],
    other: &[u8],
    dict: &[Vec<u8>],
    max_len: usize,
) -> Vec<u8> {
    let mut data = base.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(11) {
            // Flip a bit.
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            // Overwrite a byte with a special or random one.
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = if rng.below(2) == 0 {
                    *rng.pick(SPECIAL)
                } else {
                    rng.next_u64() as u8
                };
            }
            // Insert a special byte.
            2 => {
                let i = rng.below(len + 1);
                data.insert(i, *rng.pick(SPECIAL));
            }
            // Delete a range.
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                data.drain(i..i + n);
            }
            // Duplicate a range of itself somewhere else.
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let chunk = data[i..i + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            // Truncate.
            5 if len > 0 => data.truncate(rng.below(len)),
            // Splice: this input's head, the other's tail.
            6 if !other.is_empty() => {
                let head = rng.below(len + 1);
                let tail = rng.below(other.len());
                data.truncate(head);
                data.extend_from_slice(&other[tail..]);
            }
            // Insert or overwrite with a dictionary token.
            7 | 8 if !dict.is_empty() => {
                let token = rng.pick(dict).clone();
                let i = rng.below(len + 1);
                if rng.below(2) == 0 || i == len {
                    data.splice(i..i, token);
                } else {
                    let end = (i + token.len()).min(len);
                    data.splice(i..end, token);
                }
            }
            // Replace a run of digits with an extreme number.
            9 => {
                if let Some(start) = (0..len)
                    .map(|k| (rng.below(len.max(1)) + k) % len.max(1))
                    .take(16)
                    .find(|&k| data.get(k).is_some_and(u8::is_ascii_digit))
                {
                    let mut end = start;
                    while end < data.len() && data[end].is_ascii_digit() {
                        end += 1;
                    }
                    let n = rng.pick(NUMBERS).as_bytes().to_vec();
                    data.splice(start..end, n);
                }
            }
            // Random bytes.
            _ => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                data.splice(i..i, bytes);
            }
        }
    }
    data.truncate(max_len.max(base.len()));
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        let dict = parse_dict("# c\n\"null\"\nkw=\"\\x41\\\"\"\n");
        assert_eq!(dict, [b"null".to_vec(), b"A\"".to_vec()]);
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| mutate(&mut rng, b"{\"a\": 12}", b"*1\r\n", &dict, 100))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}

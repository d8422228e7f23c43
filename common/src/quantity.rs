//! Exact Kubernetes resource quantities (pure).
//!
//! A quantity is held as a whole number of nano-units in an `i128`, which is exact for every
//! suffix Kubernetes accepts (`1Ei` is 2^60 units, 1.15e27 nano-units) and for any fraction down
//! to one nano-unit; finer fractions round up, as kube-apiserver does. Formatting reproduces
//! apimachinery's canonical form: the largest suffix that keeps the mantissa whole, so `0.5`
//! prints as `500m`, `1.5Gi` as `1536Mi` and 262144000 bytes (binary) as `250Mi`.

use std::fmt;
use std::str::FromStr;

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// The suffix family a quantity was written in, which its canonical form keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Decimal SI suffixes: `n u m "" k M G T P E`.
    DecimalSi,
    /// Binary suffixes: `Ki Mi Gi Ti Pi Ei`.
    BinarySi,
    /// Scientific notation: `1e3`, `5E-3`.
    DecimalExponent,
}

/// An exact resource amount, e.g. `250m` CPU or `128Mi` memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

/// A string that is not a Kubernetes quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {reason}")]
pub struct QuantityError {
    /// The text that failed to parse, quoted in the message.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Quantity {
    /// A quantity of `millis` thousandths of a unit (CPU millicores), in decimal SI form.
    pub fn from_millis(millis: i64) -> Self {
        Self {
            nanos: i128::from(millis) * 1_000_000,
            format: Format::DecimalSi,
        }
    }

    /// A whole number of units (bytes, cores) written in `format`.
    pub fn from_units(units: i64, format: Format) -> Self {
        Self {
            nanos: i128::from(units) * NANOS_PER_UNIT,
            format,
        }
    }

    /// A byte count in binary form (`250Mi`), falling back to a plain number when not a whole
    /// multiple of 1024.
    pub fn from_bytes(bytes: i64) -> Self {
        Self::from_units(bytes, Format::BinarySi)
    }

    /// The suffix family this quantity keeps when printed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The exact amount in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// Whole thousandths of a unit, rounded up (apimachinery's `MilliValue`), saturating at the
    /// `i64` range.
    pub fn millis_ceil(&self) -> i64 {
        saturate(div_ceil(self.nanos, 1_000_000))
    }

    /// Whole units, rounded up (apimachinery's `Value`), saturating at the `i64` range.
    pub fn units_ceil(&self) -> i64 {
        saturate(div_ceil(self.nanos, NANOS_PER_UNIT))
    }

    /// The amount as a float of units; for arithmetic where exactness does not matter.
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANOS_PER_UNIT as f64
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }
}

fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b > 0 { q + 1 } else { q }
}

fn saturate(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse(input).map_err(|reason| QuantityError {
            input: input.to_string(),
            reason,
        })
    }
}

/// Splits `s` into (sign, integer digits, fraction digits, suffix).
fn split_number(s: &str) -> Result<(bool, &str, &str, &str), &'static str> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
        None => return Err("empty string"),
    };
    let int_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (int, after) = rest.split_at(int_end);
    let (frac, suffix) = match after.strip_prefix('.') {
        Some(f) => {
            let end = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
            f.split_at(end)
        }
        None => ("", after),
    };
    if int.is_empty() && frac.is_empty() {
        return Err("no digits");
    }
    Ok((negative, int, frac, suffix))
}

/// What a suffix multiplies by: a power of ten or a power of 1024.
enum Scale {
    Pow10(i32),
    Pow1024(u32),
}

fn parse_suffix(suffix: &str) -> Result<(Scale, Format), &'static str> {
    let decimal = |e| Ok((Scale::Pow10(e), Format::DecimalSi));
    let binary = |k| Ok((Scale::Pow1024(k), Format::BinarySi));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        _ => {
            let exp = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .ok_or("unknown suffix")?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err("exponent must be a whole number");
            }
            let e: i32 = exp.parse().map_err(|_| "exponent out of range")?;
            if !(-40..=40).contains(&e) {
                return Err("exponent out of range");
            }
            Ok((Scale::Pow10(e), Format::DecimalExponent))
        }
    }
}

fn parse(input: &str) -> Result<Quantity, &'static str> {
    let (negative, int, frac, suffix) = split_number(input)?;
    let (scale, format) = parse_suffix(suffix)?;
    if int.len() + frac.len() > 36 {
        return Err("too many digits");
    }
    // At most 36 ASCII digits (checked above): the fold cannot overflow i128 and allocates
    // nothing, which matters on the admission controller's per-request path.
    let mantissa = int
        .bytes()
        .chain(frac.bytes())
        .fold(0_i128, |m, digit| m * 10 + i128::from(digit - b'0'));
    // value = mantissa * 10^(exp10) * 1024^k, in nano-units: shift exp10 by +9.
    let (mut exp10, k) = match scale {
        Scale::Pow10(e) => (e, 0),
        Scale::Pow1024(k) => (0, k),
    };
    exp10 += 9 - frac.len() as i32;
    let mut nanos = mantissa
        .checked_mul(1024_i128.pow(k))
        .ok_or("value out of range")?;
    if exp10 >= 0 {
        let factor = 10_i128
            .checked_pow(exp10 as u32)
            .ok_or("value out of range")?;
        nanos = nanos.checked_mul(factor).ok_or("value out of range")?;
    } else {
        // Finer than one nano-unit: round up, as apimachinery does.
        let divisor = 10_i128.checked_pow((-exp10) as u32).unwrap_or(i128::MAX);
        nanos = div_ceil(nanos, divisor);
    }
    if nanos > i128::from(i64::MAX) * NANOS_PER_UNIT {
        return Err("value out of range");
    }
    Ok(Quantity {
        nanos: if negative { -nanos } else { nanos },
        format,
    })
}

fn decimal_suffix(exp: i32) -> &'static str {
    match exp {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        let whole = magnitude.is_multiple_of(NANOS_PER_UNIT as u128);
        if self.format == Format::BinarySi && whole && magnitude >= 1024 * NANOS_PER_UNIT as u128 {
            let mut units = magnitude / NANOS_PER_UNIT as u128;
            let mut k = 0;
            while k < 6 && units.is_multiple_of(1024) {
                units /= 1024;
                k += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k];
            return write!(f, "{sign}{units}{suffix}");
        }
        // Strip trailing zeros, then step the exponent down to a multiple of three.
        let mut mantissa = magnitude;
        let mut exp: i32 = -9;
        while mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exp += 1;
        }
        let r = exp.rem_euclid(3);
        mantissa *= 10_u128.pow(r as u32);
        exp -= r;
        if exp > 18 {
            mantissa *= 10_u128.pow((exp - 18) as u32);
            exp = 18;
        }
        match self.format {
            Format::DecimalExponent if exp != 0 => write!(f, "{sign}{mantissa}e{exp}"),
            Format::DecimalExponent => write!(f, "{sign}{mantissa}"),
            _ => write!(f, "{sign}{mantissa}{}", decimal_suffix(exp)),
        }
    }
}

impl From<Quantity> for k8s_openapi::apimachinery::pkg::api::resource::Quantity {
    fn from(q: Quantity) -> Self {
        Self(q.to_string())
    }
}

impl TryFrom<&k8s_openapi::apimachinery::pkg::api::resource::Quantity> for Quantity {
    type Error = QuantityError;

    fn try_from(
        q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    ) -> Result<Self, Self::Error> {
        q.0.parse()
    }
}

#[cfg(test)]
mod tests;

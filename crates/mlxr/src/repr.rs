//! `Display` for arrays, matching MLX's `repr`: `array([[1, 2],\n       [3, 4]], dtype=int32)`,
//! floats printed like C++ streams (6 significant digits), every axis longer than 6
//! summarised with `...` (3 items at each edge), as MLX 0.32 prints. A global print
//! precision (MLX's `set_printoptions(precision=...)`) switches floats to fixed notation
//! with that many decimals.

use crate::array::Array;
use crate::dtype::Dtype;
use num_complex::Complex32;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

/// The print precision: -1 for the default `%g`-like formatting.
static PRECISION: AtomicI32 = AtomicI32::new(-1);

/// Set the number of decimals floats are printed with (MLX's `set_printoptions`): -1
/// restores the default formatting (6 significant digits); any other value prints in
/// fixed notation with that many decimals (a negative one with 6, as C++ streams do).
pub fn set_print_precision(precision: i32) {
    PRECISION.store(precision, Ordering::Relaxed);
}

/// The print precision set by [`set_print_precision`] (-1 by default).
pub fn print_precision() -> i32 {
    PRECISION.load(Ordering::Relaxed)
}

/// Format a float for printing under the current precision.
pub fn format_float(v: f64) -> String {
    format_float_with(v, print_precision())
}

/// Format a float as `repr` does with print precision `p` (see [`set_print_precision`]).
pub fn format_float_with(v: f64, p: i32) -> String {
    if p == -1 {
        return format_g(v);
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let p = if p < 0 { 6 } else { p as usize };
    format!("{v:.p$}")
}

/// Format a float as C++ `std::ostream` does by default (`%g` with precision 6).
pub fn format_g(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = 6i32;
    let e = format!("{:.*e}", (p - 1) as usize, v);
    let (mant, exp) = e.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    if exp < -4 || exp >= p {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn format_complex(c: Complex32) -> String {
    let re = format_float(c.re as f64);
    let im = format_float(c.im as f64);
    if im.starts_with('-') {
        format!("{re}{im}j")
    } else {
        format!("{re}+{im}j")
    }
}

/// Every element as text, row-major.
fn element_strings(a: &Array) -> crate::Result<Vec<String>> {
    Ok(match a.dtype() {
        Dtype::Bool => a
            .to_vec::<bool>()?
            .into_iter()
            .map(|b| if b { "True".into() } else { "False".into() })
            .collect(),
        d if d.is_unsigned() => a.to_vec::<u64>()?.iter().map(|v| v.to_string()).collect(),
        d if d.is_integer() => a.to_vec::<i64>()?.iter().map(|v| v.to_string()).collect(),
        Dtype::Complex64 => a
            .to_vec::<Complex32>()?
            .into_iter()
            .map(format_complex)
            .collect(),
        Dtype::Float32 | Dtype::Float16 | Dtype::Bfloat16 => a
            .to_vec::<f32>()?
            .into_iter()
            .map(|v| format_float(v as f64))
            .collect(),
        _ => a.to_vec::<f64>()?.into_iter().map(format_float).collect(),
    })
}

fn write_level(out: &mut String, elems: &[String], shape: &[usize], base: usize, depth: usize) {
    let n = shape[0];
    let inner: usize = shape[1..].iter().product();
    out.push('[');
    let idx: Vec<Option<usize>> = if n > 6 {
        (0..3)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((n - 3..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    };
    for (k, i) in idx.iter().enumerate() {
        if k > 0 {
            if shape.len() > 1 {
                out.push_str(",\n");
                out.push_str(&" ".repeat(7 + depth));
            } else {
                out.push_str(", ");
            }
        }
        match i {
            None => out.push_str("..."),
            Some(i) => {
                if shape.len() == 1 {
                    out.push_str(&elems[base + i]);
                } else {
                    write_level(out, elems, &shape[1..], base + i * inner, depth + 1);
                }
            }
        }
    }
    out.push(']');
}

impl fmt::Display for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elems = match element_strings(self) {
            Ok(e) => e,
            Err(e) => return write!(f, "array(<error: {e}>, dtype={})", self.dtype()),
        };
        let mut s = String::from("array(");
        if self.ndim() == 0 {
            s.push_str(&elems[0]);
        } else if self.size() == 0 && self.shape()[0] == 0 {
            s.push_str("[]");
        } else {
            // MLX 0.32 summarises every axis longer than 6, whatever the size.
            write_level(&mut s, &elems, self.shape(), 0, 0);
        }
        write!(f, "{s}, dtype={})", self.dtype())
    }
}

#[cfg(test)]
mod tests {
    use super::format_g;
    #[test]
    fn g_format_matches_cpp_streams() {
        assert_eq!(format_g(1.0), "1");
        assert_eq!(format_g(2.5), "2.5");
        assert_eq!(format_g(1e10), "1e+10");
        assert_eq!(format_g(0.1), "0.1");
        assert_eq!(format_g(-3e-7), "-3e-07");
        assert_eq!(format_g(1.123456789), "1.12346");
        assert_eq!(format_g(10.1111111), "10.1111");
        assert_eq!(format_g(123456789.0), "1.23457e+08");
        assert_eq!(format_g(1e-5), "1e-05");
    }
}

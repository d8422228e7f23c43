//! Helpers shared by the fuzz targets (pure): the admission controller's cluster view and the
//! splitting of a fuzz input into parts.

pub mod admission;

/// Splits `data` into a list of cut points and the rest: the first byte says how many cut
/// points follow (modulo 16), each two bytes (little endian) taken modulo the rest's length + 1.
/// The cut points come back sorted, so consecutive ones bound the chunks of the rest.
pub fn cuts_and_body(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(n % 16).min(rest.len() / 2);
    let (points, body) = rest.split_at(n * 2);
    let mut cuts: Vec<usize> = points
        .chunks_exact(2)
        .map(|p| usize::from(u16::from_le_bytes([p[0], p[1]])) % (body.len() + 1))
        .collect();
    cuts.sort_unstable();
    (cuts, body)
}

/// The chunks of `body` between consecutive `cuts` (which are sorted and at most its length);
/// empty chunks included, as a network read may return them.
pub fn chunks<'a>(body: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut from = 0;
    for &to in cuts {
        out.push(&body[from..to]);
        from = to;
    }
    out.push(&body[from..]);
    out
}

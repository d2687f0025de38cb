//! Durations between event timestamps, as `15h` or `3d`.

/// Seconds since the epoch of an RFC 3339 UTC timestamp (`2025-11-28T23:52:00Z`).
fn epoch(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400 + hh * 3600 + mm * 60 + ss)
}

pub(super) fn span(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let secs = epoch(last?)? - epoch(first?)?;
    Some(match secs {
        s if s <= 0 => return None,
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_and_spans() {
        assert_eq!(epoch("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            span(Some("2025-11-28T08:00:00Z"), Some("2025-11-28T23:00:00Z")).as_deref(),
            Some("15h")
        );
        assert_eq!(span(Some("bad"), Some("2025-11-28T23:00:00Z")), None);
    }
}

//! Clock helpers: the cloud stamps changes in epoch milliseconds and writes absence end
//! times as `YYYY_MM_DD HH:MM`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as in `lastStatusUpdate`.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Format epoch milliseconds as the cloud's `YYYY_MM_DD HH:MM` (UTC: the simulator has no
/// time zone database).
pub(crate) fn cloud_datetime(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}_{m:02}_{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's well-known algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_cloud() {
        assert_eq!(cloud_datetime(0), "1970_01_01 00:00");
        // 2024-02-29 13:45 UTC
        assert_eq!(cloud_datetime(1_709_214_300_000), "2024_02_29 13:45");
    }
}

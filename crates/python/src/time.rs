//! Timestamps between Python `datetime` objects and the engine's `Timestamp`: the
//! current UTC time as an aware `datetime` (the reference's `Event` default), the epoch
//! seconds of an event's `timestamp` exactly as `datetime.timestamp()` gives them, and
//! the `datetime` of an engine anomaly. Only the UTC case is computed natively; every
//! other `datetime` (naive ones mean local time) asks Python.

use pyo3::prelude::*;
use pyo3::types::{PyDateAccess, PyDateTime, PyDelta, PyTimeAccess, PyTzInfo, PyTzInfoAccess};
use trace_sentinel_pycompat::timestamp::{Timestamp, EPOCH_LOCAL_US};

const US_PER_SEC: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SEC;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A `datetime` with the wall-clock fields of `local_us` (microseconds since
/// 0001-01-01T00:00) and `tz`.
fn datetime_from_local<'py>(
    py: Python<'py>,
    local_us: i64,
    tz: Option<&Bound<'py, PyTzInfo>>,
) -> PyResult<Bound<'py, PyDateTime>> {
    let since_epoch = local_us - EPOCH_LOCAL_US;
    let days = since_epoch.div_euclid(US_PER_DAY);
    let tod = since_epoch.rem_euclid(US_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = tod / US_PER_SEC;
    // The casts cannot truncate: month, day, hour, minute and second are in range by
    // construction, and Python rejects a year outside 1..=9999 with ValueError.
    PyDateTime::new(
        py,
        i32::try_from(y).unwrap_or(i32::MAX),
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (tod % US_PER_SEC) as u32,
        tz,
    )
}

/// `datetime.now(timezone.utc)`.
pub fn now_utc(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let utc = PyTzInfo::utc(py)?;
    let now = Timestamp::now_utc();
    Ok(datetime_from_local(py, now.local_us, Some(&utc.to_owned()))?.into_any())
}

/// The engine's timestamp as a Python `datetime` (aware with its offset, or naive).
pub fn to_datetime<'py>(py: Python<'py>, ts: &Timestamp) -> PyResult<Bound<'py, PyAny>> {
    let tz = match ts.offset_us {
        None => None,
        Some(0) => Some(PyTzInfo::utc(py)?.to_owned()),
        Some(off) => {
            let delta = PyDelta::new(
                py,
                i32::try_from(off.div_euclid(US_PER_DAY)).unwrap_or(0),
                (off.rem_euclid(US_PER_DAY) / US_PER_SEC) as i32,
                (off.rem_euclid(US_PER_SEC)) as i32,
                true,
            )?;
            Some(PyTzInfo::fixed_offset(py, delta)?)
        }
    };
    Ok(datetime_from_local(py, ts.local_us, tz.as_ref())?.into_any())
}

/// The engine's view of a Python `datetime`: exact for UTC (`timezone.utc`) datetimes,
/// `None` for anything else (other zones, naive values, other types).
pub fn utc_timestamp(obj: &Bound<'_, PyAny>) -> Option<Timestamp> {
    let dt = obj.cast_exact::<PyDateTime>().ok()?;
    let tz = dt.get_tzinfo()?;
    let utc = PyTzInfo::utc(obj.py()).ok()?;
    if !tz.is(&*utc) {
        return None;
    }
    let days = days_from_civil(
        i64::from(dt.get_year()),
        i64::from(dt.get_month()),
        i64::from(dt.get_day()),
    );
    let tod = ((i64::from(dt.get_hour()) * 60 + i64::from(dt.get_minute())) * 60
        + i64::from(dt.get_second()))
        * US_PER_SEC
        + i64::from(dt.get_microsecond());
    Some(Timestamp {
        local_us: EPOCH_LOCAL_US + days * US_PER_DAY + tod,
        offset_us: Some(0),
    })
}

/// `obj.timestamp()`: computed natively for a UTC `datetime`, else by Python.
pub fn epoch_seconds(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    match utc_timestamp(obj) {
        Some(ts) => Ok(ts.epoch_seconds()),
        None => obj
            .call_method0(pyo3::intern!(obj.py(), "timestamp"))?
            .extract::<f64>(),
    }
}

//! Reading one value from a Prometheus text exposition (`/metrics` of the tracker, the
//! seeder and the embedded tracker), without a parser the tests would have to trust.

/// The value of the first line that starts with `prefix` (the name, plus its labels
/// when it has any), or `None` when no line does or its value is not a number.
pub fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

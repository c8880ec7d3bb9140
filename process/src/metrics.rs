//! A daemon's Prometheus metrics, each declared in one call that creates it, registers
//! it under the daemon's prefix and returns its handle. Labelled families can be given
//! their known label values at once, so that dashboards and alerts see zeros from the
//! start rather than no series at all.

use prometheus::core::{Collector, MetricVec, MetricVecBuilder};
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Creates and registers metrics in one registry. Names and help texts are the
/// program's own constants, so a bad name or a name given twice is a bug: it panics.
pub struct Registrar {
    registry: Registry,
}

impl Registrar {
    /// A registry whose metrics are all named `<prefix>_<name>`.
    pub fn new(prefix: &str) -> Self {
        Self {
            registry: Registry::new_custom(Some(prefix.into()), None).expect("valid prefix"),
        }
    }

    /// The registry, for the admin listener's `/metrics` ([`crate::admin::respond`]).
    pub fn registry(&self) -> Registry {
        self.registry.clone()
    }

    pub fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.add(IntCounter::new(name, help).expect("metric"))
    }

    pub fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.add(IntGauge::new(name, help).expect("metric"))
    }

    /// Counters by one label, with its `known` values created at once.
    pub fn counters(&self, name: &str, help: &str, label: &str, known: &[&str]) -> IntCounterVec {
        with_known(self.counters_by(name, help, &[label]), known)
    }

    /// Counters by several labels.
    pub fn counters_by(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.add(IntCounterVec::new(Opts::new(name, help), labels).expect("metric"))
    }

    /// Gauges by one label, with its `known` values created at once.
    pub fn gauges(&self, name: &str, help: &str, label: &str, known: &[&str]) -> IntGaugeVec {
        with_known(self.gauges_by(name, help, &[label]), known)
    }

    /// Gauges by several labels.
    pub fn gauges_by(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.add(IntGaugeVec::new(Opts::new(name, help), labels).expect("metric"))
    }

    pub fn histogram(&self, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
        let opts = HistogramOpts::new(name, help).buckets(buckets);
        self.add(Histogram::with_opts(opts).expect("metric"))
    }

    /// Histograms by several labels.
    pub fn histograms_by(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: Vec<f64>,
    ) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(buckets);
        self.add(HistogramVec::new(opts, labels).expect("metric"))
    }

    fn add<C: Collector + Clone + 'static>(&self, metric: C) -> C {
        self.registry
            .register(Box::new(metric.clone()))
            .expect("unique metric");
        metric
    }
}

fn with_known<B: MetricVecBuilder>(family: MetricVec<B>, known: &[&str]) -> MetricVec<B> {
    for value in known {
        family.with_label_values(&[value]);
    }
    family
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_label_values_are_exported_as_zeros() {
        let r = Registrar::new("demo");
        r.counter("things_total", "Things.").inc();
        r.counters("outcomes_total", "Outcomes.", "outcome", &["ok", "error"]);
        let text = String::from_utf8(crate::admin::render(&r.registry())).unwrap();
        assert!(text.contains("demo_things_total 1"), "{text}");
        assert!(
            text.contains("demo_outcomes_total{outcome=\"error\"} 0"),
            "{text}"
        );
    }

    #[test]
    #[should_panic(expected = "unique metric")]
    fn a_name_given_twice_is_a_bug() {
        let r = Registrar::new("demo");
        r.gauge("x", "One.");
        r.gauge("x", "Two.");
    }
}

//! The aggregator (being written).

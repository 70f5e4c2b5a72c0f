//! Go-live traffic simulator (being written).

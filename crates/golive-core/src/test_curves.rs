//! The simulated go-live day the forecast back-tests share: the share of the
//! peak arrival rate by hour of day (quiet night, ramp from 06:00, plateau
//! 10:00–14:00, tail to midnight). Tests only.

/// Share of the peak rate at `hour` (0–24), linear between the points.
pub(crate) fn day_shape(hour: f64) -> f64 {
    const POINTS: [(f64, f64); 6] = [
        (0.0, 0.15),
        (6.0, 0.15),
        (10.0, 1.0),
        (14.0, 1.0),
        (20.0, 0.35),
        (24.0, 0.15),
    ];
    POINTS
        .windows(2)
        .find(|pair| hour <= pair[1].0)
        .map(|pair| {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            y0 + (y1 - y0) * (hour - x0) / (x1 - x0)
        })
        .unwrap_or(0.15)
}

//! Erlang C staffing mathematics (being written).

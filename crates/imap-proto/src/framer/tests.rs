//! Framer behaviour tests.

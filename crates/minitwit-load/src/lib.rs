//! `minitwit-load`: the client side of the "On the Energy Consumption of CPython" experiment.
//!
//! Layout
//! - `seed.rs`: the deterministic seed data (users, messages, followers) as SQL, and the
//!   ordered user list the scenario follows.
//! - `words.rs`: the frozen vocabularies the seed is drawn from.

pub mod seed;
mod words;

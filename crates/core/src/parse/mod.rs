//! Parse stage: one decoded line → the fields of an event (plain text or JSON lines).

pub mod jsonl;

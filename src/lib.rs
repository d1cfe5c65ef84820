//! interleave: run the classic Python concurrency lessons for real and watch them.
//!
//! Data flows down: lesson → scenario → program → engine (sim or live) → trace →
//! views (ui, cli, export). See README.md for the tour.

pub mod catalog;
pub mod cli;
pub mod cpython;
pub mod explore;
pub mod export;
pub mod i18n;
pub mod interp;
pub mod lesson;
pub mod live;
pub mod program;
pub mod record;
pub mod run;
pub mod scenarios;
pub mod sim;
pub mod trace;
pub mod ui;

//! Integration tests of the plugin runtime with the real plugin components
//! (`make plugins` builds them into `plugins/dist/`) against simulators on
//! loopback. One test binary, so the compiled-plugin cache is shared.

mod admin;
mod amocrm;
mod bitrix24;
mod catalog;
mod cli;
mod config_fuzz;
mod contract;
mod crm_swap;
mod dialogue;
mod example;
mod faults;
mod followups;
mod keycrm;
mod polling;
mod sandbox;
mod store;
mod support;
mod swap;
mod webhook_py;

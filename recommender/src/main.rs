//! `vpa-recommender` launcher: the recommender service by default, or the `replay` tool.

use std::process::ExitCode;

use vpa_recommender::cli::Cli;

mod allocator;

fn main() -> ExitCode {
    allocator::tune();
    vpa_common::install_crypto_provider();
    vpa_common::go_flags::parse::<Cli>().run()
}

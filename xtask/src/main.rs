//! `cargo xtask`: the project's build tool. One module per task: `build_all`, `codegen`, `tidy`, `new`, `bench`, `fuzz`;
//! shared pieces: `project` (layout, connector discovery), `arch`, `elf`, `archive`, `output`, `flags`.

mod arch;
mod archive;
mod bench;
mod build_all;
mod codegen;
mod demo;
mod elf;
mod flags;
mod fuzz;
mod new;
mod output;
mod project;
mod tidy;

use flags::Command;
use project::Project;

fn main() -> std::process::ExitCode {
    // Print the error chain ourselves: a clear message, without a backtrace even when
    // RUST_BACKTRACE is set.
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            output::error(&format!("{error:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> anyhow::Result<()> {
    let project = Project::current();
    match flags::parse(args)? {
        Command::BuildAll(options) => build_all::run(&project, &options),
        Command::Codegen(options) => codegen::run(&project, &options),
        Command::Tidy => tidy::run(&project),
        Command::Bench(options) => bench::run(&project, &options),
        Command::Fuzz(options) => fuzz::run(&project, &options),
        Command::New { name } => new::run(&project, &name),
        Command::Demo { args } => demo::run(&project, &args),
        Command::Help => {
            output::line(flags::HELP);
            Ok(())
        }
    }
}

//! The `rapport` binary; everything it does lives in the library.

fn main() -> std::process::ExitCode {
    rapport_server::cli::main()
}

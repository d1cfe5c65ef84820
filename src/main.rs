fn main() -> std::process::ExitCode {
    interleave::cli::main()
}

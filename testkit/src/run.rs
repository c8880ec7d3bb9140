//! A command run to completion and its output, for the checks every command-line test
//! makes: it succeeded, or it failed with a given exit code, and what it printed.

use std::path::Path;
use std::process::{Command, ExitStatus};

/// The output of one finished command.
pub struct Run {
    /// The program's file name, for failure messages.
    pub program: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `cmd` to its end with stdout and stderr captured (both must be UTF-8).
    pub fn of(cmd: &mut Command) -> Self {
        let program = Path::new(cmd.get_program())
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"));
        Self {
            program,
            status: out.status,
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Asserts success and returns standard output.
    #[track_caller]
    pub fn ok(self) -> String {
        assert!(
            self.status.success(),
            "{} failed: {}",
            self.program,
            self.stderr
        );
        self.stdout
    }

    /// Asserts the exit code `code` and returns the run, for either output.
    #[track_caller]
    pub fn exited(self, code: i32) -> Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts the exit code `code` and returns standard error.
    #[track_caller]
    pub fn fails_with(self, code: i32) -> String {
        self.exited(code).stderr
    }
}

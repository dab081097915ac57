//! Starting iamsim on 127.0.0.1 and running the real `iamsweep` binary against it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// A test scenario under `crates/cli/tests/scenarios/`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios").join(name)
}

/// A running iamsim server, stopped on drop.
pub struct Sim {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The `--record` file, when asked for.
    pub record: Option<PathBuf>,
    dir: tempfile::TempDir,
}

/// Builder for a server.
pub struct SimBuilder {
    scenario: PathBuf,
    args: Vec<String>,
    record: bool,
}

impl SimBuilder {
    /// An extra server flag.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Extra server flags.
    pub fn args<'a>(mut self, args: impl IntoIterator<Item = &'a str>) -> Self {
        self.args.extend(args.into_iter().map(str::to_string));
        self
    }

    /// Record every call.
    pub fn record(mut self) -> Self {
        self.record = true;
        self
    }

    /// Starts the server and waits for its `ready` line.
    pub fn start(self) -> Sim {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(repo_root().join("iamsim/serve"));
        command
            .arg("--scenario")
            .arg(&self.scenario)
            .args(["--port", "0"])
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let record = self.record.then(|| dir.path().join("record.jsonl"));
        if let Some(record) = &record {
            command.arg("--record").arg(record);
        }
        let mut child = command.spawn().expect("iamsim/serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("iamsim prints a line");
        let url = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("iamsim did not start: {line:?}"))
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "iamsim must bind loopback only: {url}");
        Sim { child, url, record, dir }
    }
}

impl Sim {
    /// iamsim's `POST /_iamsim/activity`: `arn` used (or tried) `service` just now, as Access
    /// Advisor would report it (a denied attempt counts).
    pub fn activity(&self, arn: &str, service: &str) {
        use std::io::{Read, Write};
        let body = serde_json::json!({"arn": arn, "service": service, "days_ago": 0}).to_string();
        let host = self.url.strip_prefix("http://").unwrap();
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(
            stream,
            "POST /_iamsim/activity HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{answer}"
        );
    }

    /// A server for a scenario file.
    pub fn builder(scenario: PathBuf) -> SimBuilder {
        SimBuilder { scenario, args: Vec::new(), record: false }
    }

    /// The recorded calls, one JSON object each.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        let path = self.record.as_ref().expect("server started with record()");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("record lines are JSON"))
            .collect()
    }

    /// Runs `iamsweep ARGS --endpoint-url URL` with test credentials.
    pub fn iamsweep(&self, args: &[&str]) -> Output {
        self.iamsweep_env(args, &[])
    }

    /// Runs `iamsweep ARGS --endpoint-url URL` with test credentials overridden by `env`
    /// (such as an assumed role's session).
    pub fn iamsweep_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--endpoint-url", &self.url]);
        // In the server's own directory: what the binary keeps by default in the current
        // directory (the state store) belongs to this test's account, never another test's.
        command(&all, env).current_dir(self.dir.path()).output().expect("iamsweep runs")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the real binary with an environment that can only reach what the arguments name:
/// static test credentials, no profile files, no instance metadata.
pub fn iamsweep(args: &[&str]) -> Output {
    iamsweep_with_env(args, &[])
}

/// [`iamsweep`] with extra or overriding environment variables.
pub fn iamsweep_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env).output().expect("iamsweep runs")
}

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iamsweep"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/iamsweep-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/iamsweep-test-credentials")
        .env("IAMSWEEP_POLL_FIRST_MS", "5")
        .envs(env.iter().copied());
    command
}

/// Fails with the command's stdout and stderr unless it exited with `code`.
#[track_caller]
pub fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Stdout as JSON, with stderr shown when it is not.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}); status {:?}\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

//! The deployment kit (`Dockerfile`, `deploy/compose`, `deploy/systemd`) as
//! an operator would run it: every command line in it is one the `specserve`
//! binary parses, every variable one it reads, and the NATS configuration one
//! nats-server accepts. With a Docker daemon, the image is built and runs.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Whether `specserve <args>` parses (asked with `--help` at the end, so it
/// parses every argument and then stops).
fn parses(args: &[String]) -> Result<(), String> {
    let output = Command::new(env!("CARGO_BIN_EXE_specserve")).args(args).arg("--help").output().unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("`specserve {}`: {}", args.join(" "), String::from_utf8_lossy(&output.stderr)))
    }
}

/// The help of `specserve <command>`, which names every variable it reads (`[env: NAME`).
fn help_of(command: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_specserve")).args([command, "--help"]).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_reads(command: &str, variable: &str, place: &str) {
    let reads = variable == "DATABASE_URL" || help_of(command).contains(&format!("[env: {variable}"));
    assert!(reads, "{place}: `specserve {command}` reads no {variable}");
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

#[test]
fn the_dockerfile_runs_a_command_the_binary_takes() {
    let dockerfile = std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).unwrap();
    let json_after = |instruction: &str| -> Vec<String> {
        let line = dockerfile.lines().find_map(|l| l.strip_prefix(instruction)).expect(instruction);
        serde_json::from_str(line.trim()).unwrap()
    };
    assert_eq!(json_after("ENTRYPOINT "), ["specserve"]);
    parses(&json_after("CMD ")).unwrap();
    assert!(dockerfile.contains("USER specserve"), "the server does not run as root");
}

#[test]
fn the_compose_file_runs_commands_the_binary_takes_with_variables_it_reads() {
    let text = std::fs::read_to_string(Path::new(ROOT).join("deploy/compose/compose.yaml")).unwrap();
    let mut yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    yaml.apply_merge().unwrap();
    let compose: serde_json::Value = serde_json::to_value(&yaml).unwrap();
    let mut ours = 0;
    for (name, service) in compose["services"].as_object().unwrap() {
        if service.get("build").is_none() {
            continue;
        }
        ours += 1;
        let command = strings(&service["command"]);
        parses(&command).unwrap_or_else(|e| panic!("service {name}: {e}"));
        let entrypoint = strings(&service["entrypoint"]).join(" ");
        assert!(entrypoint.contains("exec specserve") && entrypoint.contains("DATABASE_URL="), "{name}: {entrypoint}");
        for variable in service["environment"].as_object().into_iter().flatten().map(|(k, _)| k) {
            assert_reads(&command[0], variable, &format!("service {name}"));
        }
        for secret in strings(&service["secrets"]) {
            assert!(compose["secrets"][&secret].is_object(), "service {name}: secret {secret} is declared");
        }
    }
    assert_eq!(ours, 3, "the migration and two nodes");
}

#[test]
fn the_compose_nats_configuration_is_one_nats_server_accepts() {
    let conf = Path::new(ROOT).join("deploy/compose/nats.conf");
    let Ok(output) =
        Command::new("nats-server").arg("-t").arg("-c").arg(&conf).env("SPECSERVE_NODE_PASSWORD", "pw").output()
    else {
        return eprintln!("nats-server is not installed: not checked");
    };
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_systemd_unit_runs_commands_the_binary_takes_with_variables_it_reads() {
    let unit = std::fs::read_to_string(Path::new(ROOT).join("deploy/systemd/specserve.service")).unwrap();
    let mut commands = 0;
    for line in unit.lines() {
        if let Some(exec) = line.strip_prefix("ExecStart=").or_else(|| line.strip_prefix("ExecStartPre=")) {
            let mut words = exec.split_whitespace();
            assert_eq!(words.next(), Some("/usr/local/bin/specserve"), "{line}");
            parses(&words.map(str::to_owned).collect::<Vec<_>>()).unwrap();
            commands += 1;
        }
        if let Some(assignment) = line.strip_prefix("Environment=") {
            let variable = assignment.split('=').next().unwrap();
            assert_reads("serve", variable, line);
        }
    }
    assert_eq!(commands, 2, "the migration and the server");
}

/// Only where a Docker daemon answers (this checkout's CI has none): the
/// image builds and its binary runs as the user it should.
#[test]
fn the_image_builds_and_runs_where_docker_is() {
    let daemon = Command::new("docker").arg("info").output().is_ok_and(|o| o.status.success());
    if !daemon {
        return eprintln!("no Docker daemon: the image is not built here (the other tests check its command)");
    }
    let build = Command::new("docker").args(["build", "-t", "specserve:test", ROOT]).status().unwrap();
    assert!(build.success());
    let run =
        Command::new("docker").args(["run", "--rm", "--entrypoint", "id", "specserve:test", "-u"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "10001", "not root");
}

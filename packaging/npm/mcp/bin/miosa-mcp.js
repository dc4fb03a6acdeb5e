#!/usr/bin/env node
// The miosa-mcp command of the @miosa/mcp npm package. It runs the prebuilt
// binary from the platform package npm installed (one of the
// optionalDependencies in ../package.json, chosen by its os and cpu fields)
// and gets out of the way:
//   - stdin, stdout and stderr are the binary's own (inherited file
//     descriptors, nothing copied), so stdout stays pure JSON-RPC and EOF on
//     stdin reaches the binary directly;
//   - SIGINT, SIGTERM and SIGHUP sent to this process are forwarded to it;
//   - if our parent goes away (npx forwards SIGINT and SIGTERM only to the
//     `sh -c` it runs us in, which dies without passing them on), the
//     binary gets SIGTERM, so it never outlives whoever started it;
//   - its exit code is ours, and when a signal killed it, the same signal
//     kills us, so whoever started `npx -y @miosa/mcp` sees what it would
//     have seen from the binary itself.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");
const { constants } = require("node:os");
const manifest = require("../package.json");

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"];

function fail(msg) {
  process.stderr.write(`miosa-mcp (npm ${manifest.name}@${manifest.version}): ${msg}\n`);
  process.exit(1);
}

function binaryPath() {
  const platform = `${process.platform}-${process.arch}`;
  const pkg = `${manifest.name}-${platform}`;
  const supported = Object.keys(manifest.optionalDependencies || {});
  if (!supported.includes(pkg)) {
    fail(
      `no prebuilt binary for ${platform}; supported: ${supported.map((p) => p.slice(manifest.name.length + 1)).join(", ")}. ` +
        "Build from source with `go install github.com/miosa-osa/miosa-mcp/cmd/miosa-mcp@latest` (Go 1.26+).",
    );
  }
  let dir;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    fail(
      `the platform package ${pkg} is not installed. npm skips it when optional dependencies are omitted ` +
        "(--omit=optional, --no-optional, or omit=optional in .npmrc); reinstall without that, or run `npx -y @miosa/mcp`.",
    );
  }
  return path.join(dir, "bin", process.platform === "win32" ? "miosa-mcp.exe" : "miosa-mcp");
}

const bin = binaryPath();
const child = spawn(bin, process.argv.slice(2), { stdio: "inherit", windowsHide: true });

for (const sig of FORWARDED) {
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}

const parent = process.ppid;
const orphanWatch = setInterval(() => {
  if (process.ppid !== parent && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
}, 500);
orphanWatch.unref();

child.on("error", (err) => fail(`cannot start ${bin}: ${err.message}`));

child.on("exit", (code, signal) => {
  if (signal === null) {
    process.exit(code ?? 1);
  }
  // Die of the same signal: drop our handlers so its default action applies.
  for (const sig of FORWARDED) process.removeAllListeners(sig);
  process.kill(process.pid, signal);
  // A signal whose default action is not to terminate (or Windows, which has
  // none): exit the way a shell reports a signal death.
  process.exit(128 + (constants.signals[signal] ?? 0));
});

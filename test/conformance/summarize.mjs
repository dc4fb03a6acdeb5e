// Summarises a conformance run for scripts/conformance.sh.
//
//   node summarize.mjs <results-dir> <baseline.yml> <scenario>...
//
// <scenario>... is every server scenario the suite lists (`list --server`).
// Exits non-zero when a listed scenario did not run, when one failed and is
// not in the baseline, when a baseline entry passed (stale) or names no
// listed scenario. A WARNING check counts as a failure, as in the suite's
// own baseline mode.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const [dir, baselinePath, ...listed] = process.argv.slice(2);

// The baseline is a flat `server:` list; read it without a YAML dependency.
const baseline = new Set();
let inServer = false;
for (const line of readFileSync(baselinePath, "utf8").split("\n")) {
  const l = line.replace(/#.*/, "").trimEnd();
  if (!l.trim()) continue;
  if (/^\S/.test(l)) { inServer = l.trim() === "server:"; continue; }
  const m = inServer && l.match(/^\s+-\s+(\S+)$/);
  if (m) baseline.add(m[1]);
}

// Result directories are named server-<scenario>-<ISO timestamp>.
const results = new Map();
for (const d of existsSync(dir) ? readdirSync(dir) : []) {
  const m = d.match(/^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z?$/);
  const f = join(dir, d, "checks.json");
  if (!m || !existsSync(f)) continue;
  results.set(m[1], JSON.parse(readFileSync(f, "utf8")));
}

const problems = [];
let passed = 0, expected = 0, checksOK = 0, checks = 0;
for (const name of listed) {
  const cs = results.get(name);
  if (!cs) { problems.push(`scenario did not run: ${name}`); continue; }
  const bad = cs.filter((c) => c.status === "FAILURE" || c.status === "WARNING");
  checks += cs.filter((c) => c.status !== "INFO").length;
  checksOK += cs.filter((c) => c.status === "SUCCESS").length;
  if (bad.length === 0) {
    passed++;
    if (baseline.has(name)) problems.push(`stale baseline entry (scenario passes): ${name}`);
  } else if (baseline.has(name)) {
    expected++;
  } else {
    problems.push(`unexpected failure: ${name}: ` +
      bad.map((c) => `${c.id} ${c.status}${c.errorMessage ? ": " + c.errorMessage : ""}`).join("; "));
  }
}
for (const name of baseline) {
  if (!listed.includes(name)) problems.push(`baseline entry names no scenario of this suite: ${name}`);
}
for (const name of results.keys()) {
  if (!listed.includes(name)) problems.push(`unlisted scenario in results: ${name}`);
}

for (const p of problems) console.error(`conformance: ${p}`);
console.log(`conformance: ${listed.length} scenarios: ${passed} passed, ${expected} expected failures (baseline), ` +
  `${problems.length} problems; ${checksOK}/${checks} checks succeeded`);
process.exit(problems.length ? 1 : 0);

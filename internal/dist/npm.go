package dist

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// NPMScope is the launcher package's name; the platform packages are
// NPMScope + "-" + <node platform>-<node arch>, e.g. @miosa/mcp-linux-x64.
const NPMScope = "@miosa/mcp"

// NPMPlatform maps a Go target to Node's process.platform and
// process.arch, the values npm matches a package's os and cpu fields with.
func NPMPlatform(t Target) (platform, cpu string) {
	platform, cpu = t.OS, t.Arch
	if platform == "windows" {
		platform = "win32"
	}
	if cpu == "amd64" {
		cpu = "x64"
	}
	return platform, cpu
}

// NPMPackageName is the platform package for t, e.g. @miosa/mcp-win32-x64.
func NPMPackageName(t Target) string {
	platform, cpu := NPMPlatform(t)
	return NPMScope + "-" + platform + "-" + cpu
}

// NPMOptions configure PackNPM.
type NPMOptions struct {
	Root string    // the module root (packaging/npm holds the launcher and the platform template)
	Dist string    // Build's output directory (metadata.json and the staged binaries)
	Out  string    // where the .tgz files are written
	NPM  string    // the npm command (default "npm")
	Log  io.Writer // one line per package (default: discarded)
}

// PackNPM stages and packs (`npm pack`) the launcher package and one
// platform package per binary in Dist, all at the version the binaries were
// stamped with (without its v). The launcher always lists the six platform
// packages at that exact version, whichever were built. It returns the
// tarballs' paths, the launcher's first.
func PackNPM(ctx context.Context, o NPMOptions) ([]string, error) {
	if o.NPM == "" {
		o.NPM = "npm"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	rel, err := ReadRelease(o.Dist)
	if err != nil {
		return nil, err
	}
	version := strings.TrimPrefix(rel.Version, "v")
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp("", "miosa-mcp-npm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)

	dirs := []string{filepath.Join(stage, "mcp")}
	if err := stageLauncher(o.Root, dirs[0], version); err != nil {
		return nil, err
	}
	for _, a := range rel.Artifacts {
		t := Target{a.OS, a.Arch}
		dir := filepath.Join(stage, strings.TrimPrefix(NPMPackageName(t), "@miosa/"))
		if err := stagePlatform(o.Root, dir, filepath.Join(o.Dist, a.Binary), t, version, rel.Commit); err != nil {
			return nil, fmt.Errorf("%s: %w", NPMPackageName(t), err)
		}
		dirs = append(dirs, dir)
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	var tarballs []string
	for _, dir := range dirs {
		stdout, err := output(ctx, dir, nil, o.NPM, "pack", "--json", "--pack-destination", out)
		if err != nil {
			return nil, err
		}
		var packed []struct {
			Name     string `json:"name"`
			Filename string `json:"filename"`
		}
		if err := json.Unmarshal([]byte(stdout), &packed); err != nil || len(packed) != 1 {
			return nil, fmt.Errorf("npm pack in %s printed %q (%v)", dir, stdout, err)
		}
		fmt.Fprintf(o.Log, "npm-pack: %s@%s → %s\n", packed[0].Name, version, packed[0].Filename)
		tarballs = append(tarballs, filepath.Join(out, packed[0].Filename))
	}
	return tarballs, nil
}

// stageLauncher copies packaging/npm/mcp and sets its version and the exact
// version of every platform package it lists.
func stageLauncher(root, dir, version string) error {
	src := filepath.Join(root, "packaging", "npm", "mcp")
	for _, name := range []string{"README.md", "bin/miosa-mcp.js"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "bin/") {
			mode = 0o755
		}
		if err := writeFile(filepath.Join(dir, name), b, mode); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return err
	}
	var pkg map[string]any
	if err := json.Unmarshal(b, &pkg); err != nil {
		return fmt.Errorf("packaging/npm/mcp/package.json: %w", err)
	}
	deps, _ := pkg["optionalDependencies"].(map[string]any)
	if len(deps) != len(Targets) {
		return fmt.Errorf("packaging/npm/mcp/package.json lists %d platform packages, want %d", len(deps), len(Targets))
	}
	// Rewrite the values in place, keeping the file's layout and key order.
	keys := []string{"version"}
	for _, t := range Targets {
		if _, ok := deps[NPMPackageName(t)]; !ok {
			return fmt.Errorf("packaging/npm/mcp/package.json does not list %s", NPMPackageName(t))
		}
		keys = append(keys, NPMPackageName(t))
	}
	for _, k := range keys {
		re := regexp.MustCompile(`("` + regexp.QuoteMeta(k) + `": )"[^"]*"`)
		if n := len(re.FindAllIndex(b, -1)); n != 1 {
			return fmt.Errorf("packaging/npm/mcp/package.json: %q appears %d times, want once", k, n)
		}
		b = re.ReplaceAll(b, []byte(`${1}"`+version+`"`))
	}
	if err := json.Unmarshal(b, &pkg); err != nil || pkg["version"] != version {
		return fmt.Errorf("packaging/npm/mcp/package.json: rewriting the versions failed (%v)", err)
	}
	return writeFile(filepath.Join(dir, "package.json"), b, 0o644)
}

// stagePlatform renders packaging/npm/platform's templates for t and copies
// the binary to bin/.
func stagePlatform(root, dir, bin string, t Target, version, commit string) error {
	platform, cpu := NPMPlatform(t)
	data := struct{ Name, Version, OS, CPU, Exe, Commit string }{NPMPackageName(t), version, platform, cpu, t.exe(), commit}
	for _, name := range []string{"package.json", "README.md"} {
		tmpl, err := template.ParseFiles(filepath.Join(root, "packaging", "npm", "platform", name+".tmpl"))
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, data); err != nil {
			return err
		}
		if name == "package.json" && !json.Valid(buf.Bytes()) {
			return fmt.Errorf("packaging/npm/platform/package.json.tmpl renders invalid JSON")
		}
		if err := writeFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "bin", t.exe()), b, 0o755)
}

func writeFile(path string, b []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // WriteFile's mode is masked by the umask
}

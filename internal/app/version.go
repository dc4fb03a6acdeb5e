package app

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/miosa-osa/miosa-mcp/gen/tools"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
	"github.com/miosa-osa/miosa-mcp/internal/tokens"
)

// Stamped at build time by `make dist` (internal/dist), e.g.
//
//	-X github.com/miosa-osa/miosa-mcp/internal/app.version=v1.2.3
//	-X github.com/miosa-osa/miosa-mcp/internal/app.commit=<full sha>
//	-X github.com/miosa-osa/miosa-mcp/internal/app.date=<commit time, RFC 3339 UTC>
//
// The date is the commit's, not the build's, so builds are reproducible.
var version, commit, date string

// NPMPackage is the npm package that runs the prebuilt binary
// (packaging/npm): `npx -y @miosa/mcp`.
const NPMPackage = "@miosa/mcp"

// Version is the build's version: the ldflags value, else the module
// version recorded by `go install …@vX`, else "dev". The MCP initialize
// reply's serverInfo.version is this string.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// BuildInfo is what `miosa-mcp version` reports about the binary.
type BuildInfo struct {
	Version  string
	Commit   string // full sha, or "" when the build recorded none (go install from the proxy)
	Date     string // commit time, RFC 3339
	Modified bool   // built from a tree with uncommitted changes
	Go       string // toolchain, e.g. go1.26.8
	Platform string // GOOS/GOARCH
}

// ReadBuildInfo returns the stamped values, falling back to the VCS
// information `go build` records in a git checkout.
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Version: Version(), Commit: commit, Date: date, Go: goruntime.Version(), Platform: goruntime.GOOS + "/" + goruntime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok && commit == "" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				b.Date = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

// runVersion prints the version, where it was built from, the protocol
// versions it speaks, what its catalog costs a client, and how to update.
func runVersion(args []string, env Env) int {
	fs := newFlagSet("version", "miosa-mcp version", env)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	bi := ReadBuildInfo()
	catalog := tools.All(nil)
	// The cost of tools/list as stdio serves it (local-file arguments
	// included), the figure the generator records in docs/tools.md.
	st, err := tokens.Measure(runtime.LocalVariants(catalog))
	if err != nil {
		fmt.Fprintln(env.Stderr, "miosa-mcp:", err)
		return 1
	}
	src := "unknown (this build recorded no commit)"
	if bi.Commit != "" {
		src = bi.Commit
		if bi.Date != "" {
			src += " (" + bi.Date + ")"
		}
		if bi.Modified {
			src += ", with uncommitted changes"
		}
	}
	fmt.Fprintf(env.Stdout, "miosa-mcp %s\n", bi.Version)
	fmt.Fprintf(env.Stdout, "commit    %s\n", src)
	fmt.Fprintf(env.Stdout, "go        %s %s\n", bi.Go, bi.Platform)
	fmt.Fprintf(env.Stdout, "protocol  %s (initialize negotiates up to %s)\n", strings.Join(mcp.ValidProtocolVersions, ", "), mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	fmt.Fprintf(env.Stdout, "catalog   %d tools in %d toolsets; tools/list costs %d bytes, %d tokens (cl100k)\n", len(catalog), len(tools.Toolsets), st.TotalBytes, st.TotalTokens)
	fmt.Fprintf(env.Stdout, "update    npx -y %s@latest, go install github.com/miosa-osa/miosa-mcp/cmd/miosa-mcp@latest, or https://github.com/miosa-osa/miosa-mcp/releases\n", NPMPackage)
	return 0
}

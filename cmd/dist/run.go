package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/miosa-osa/miosa-mcp/internal/dist"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "npm" {
		return runNPM(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("dist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "dist", "output directory (must not exist or be empty)")
	targets := fs.String("targets", "all", "comma-separated GOOS/GOARCH pairs, or all")
	version := fs.String("version", "", "version to stamp (default: the v<server.json version> tag on HEAD, else v<version>-dev.g<sha>)")
	sbom := fs.Bool("sbom", true, "write a CycloneDX SBOM per binary")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ts, err := dist.ParseTargets(*targets)
	if err != nil {
		fmt.Fprintln(stderr, "dist:", err)
		return 2
	}
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "dist:", err)
		return 1
	}
	st, err := dist.GitStamp(ctx, root, *version)
	if err != nil {
		fmt.Fprintln(stderr, "dist:", err)
		return 1
	}
	rel, err := dist.Build(ctx, dist.Options{Root: root, Out: *out, Stamp: st, Targets: ts, SBOM: *sbom, Log: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "dist:", err)
		return 1
	}
	fmt.Fprintf(stdout, "dist: %s (commit %s, %s, %s)\n", rel.Version, rel.Commit[:12], rel.Date, rel.Go)
	for _, a := range rel.Artifacts {
		fi, err := os.Stat(filepath.Join(*out, a.Archive))
		if err != nil {
			fmt.Fprintln(stderr, "dist:", err)
			return 1
		}
		fmt.Fprintf(stdout, "  %s  %.2f MiB\n", a.Archive, float64(fi.Size())/(1<<20))
	}
	fmt.Fprintf(stdout, "  %s\n", filepath.Join(*out, dist.SumsFile))
	return 0
}

func runNPM(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dist npm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("dist", "dist", "`make dist` output directory")
	out := fs.String("out", filepath.Join("dist", "npm"), "where the .tgz files are written")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "dist npm:", err)
		return 1
	}
	tgz, err := dist.PackNPM(ctx, dist.NPMOptions{Root: root, Dist: *in, Out: *out, Log: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "dist npm:", err)
		return 1
	}
	fmt.Fprintf(stdout, "npm-pack: %d packages in %s: %s\n", len(tgz), *out, strings.Join(baseNames(tgz), " "))
	return 0
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

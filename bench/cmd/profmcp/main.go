// Command profmcp is miosa-mcp (the same app.Run as cmd/miosa-mcp) that
// profiles itself, so that the driver's load can be profiled in the spawned
// server (BENCHMARKS.md, "Profiles"):
//
//	BENCH_CPUPROFILE=FILE   a pprof CPU profile of the whole run
//	BENCH_MEMPROFILE=FILE   a pprof heap profile written at exit (its
//	                        alloc_space/alloc_objects samples cover the run)
//
// Each process writes on exit, so the last one to exit owns FILE: run the
// driver with --only stdio or --only http.
package main

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/pprof"

	"github.com/miosa-osa/miosa-mcp/internal/app"
)

func main() { os.Exit(run()) }

func run() int {
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profmcp:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "profmcp:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv("BENCH_MEMPROFILE"); path != "" {
		goruntime.MemProfileRate = 64 << 10
		defer func() {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, "profmcp:", err)
				return
			}
			defer f.Close()
			goruntime.GC()
			pprof.WriteHeapProfile(f)
		}()
	}
	return app.Run(context.Background(), os.Args[1:], app.Env{
		Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
}

// Command profmcp is miosa-mcp (the same app.Run as cmd/miosa-mcp) that
// profiles itself, so that the driver's load can be profiled in the spawned
// server (BENCHMARKS.md, "Profiles"):
//
//	BENCH_CPUPROFILE=FILE   a pprof CPU profile of the whole run
//	BENCH_MEMPROFILE=FILE   a pprof heap profile written at exit (its
//	                        alloc_space/alloc_objects samples cover the run);
//	                        on SIGUSR1 also FILE.1, FILE.2, ... without a
//	                        forced GC, so that their inuse samples are the
//	                        heap live at the last GC under the load
//	BENCH_MEMPROFILERATE=N  bytes per heap sample (default 64 KiB; 1 records
//	                        every allocation)
//
// Each process writes on exit, so the last one to exit owns FILE: run the
// driver with --only stdio or --only http.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"

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
		if n, err := strconv.Atoi(os.Getenv("BENCH_MEMPROFILERATE")); err == nil && n > 0 {
			goruntime.MemProfileRate = n
		}
		snapshots(path)
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

// snapshots writes path.1, path.2, ... on each SIGUSR1: the heap profile as
// of the last GC, taken while the server is under load.
func snapshots(path string) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	var n atomic.Int64
	go func() {
		for range ch {
			f, err := os.Create(path + "." + strconv.FormatInt(n.Add(1), 10))
			if err != nil {
				fmt.Fprintln(os.Stderr, "profmcp:", err)
				continue
			}
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}()
}

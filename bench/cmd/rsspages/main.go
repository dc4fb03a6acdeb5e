// Command rsspages attributes the resident pages of a running Go binary's
// own file mappings to its ELF sections and packages (BENCHMARKS.md,
// "Memory under the 64-client load"): which part of the RssFile in
// /proc/PID/status is code, pc tables, type data or read-only data, and
// which packages' symbols lie on the resident pages.
//
//	rsspages [-top 25] PID
//
// A page counts when its present bit is set in /proc/PID/pagemap (bit 63;
// readable without privileges). A page shared by several symbols is split
// between them by their overlap. Runs of resident pages are listed by
// length too: runs in multiples of 16 pages are the kernel mapping the
// cached pages around each faulting one (fault-around, 64 KiB).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/miosa-osa/miosa-mcp/bench"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rsspages", flag.ContinueOnError)
	fs.SetOutput(stderr)
	top := fs.Int("top", 25, "packages and symbols to list")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var pid int
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: rsspages [-top N] PID")
		return 2
	}
	if _, err := fmt.Sscan(fs.Arg(0), &pid); err != nil || pid <= 0 {
		fmt.Fprintln(stderr, "rsspages: not a PID:", fs.Arg(0))
		return 2
	}
	r, err := bench.ResidentPages(pid)
	if err != nil {
		fmt.Fprintln(stderr, "rsspages:", err)
		return 1
	}
	r.Write(stdout, *top)
	return 0
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// 6. Generator wall time against the go command floor.

func measureGenerate(c config, rep *Report) error {
	tmp, err := os.MkdirTemp("", "miosa-bench-gen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	genBin := filepath.Join(tmp, "gen")
	timeCmd := func(okCodes []int, name string, args ...string) (time.Duration, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir = c.repo
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		d := time.Since(t0)
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				for _, ok := range okCodes {
					if ee.ExitCode() == ok {
						return d, nil
					}
				}
			}
			return d, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out.String())
		}
		return d, nil
	}
	build, err := timeCmd(nil, "go", "build", "-o", genBin, "./cmd/toolgen")
	if err != nil {
		return err
	}
	series := []struct {
		name, note string
		okCodes    []int
		args       []string
	}{
		{"go run ./cmd/toolgen -check", "what `make check-generate` runs; same generation work as `go generate ./...`, writes nothing", nil, []string{"go", "run", "./cmd/toolgen", "-check"}},
		{"prebuilt gen -check", "the generator alone, without the go command", nil, []string{genBin, "-check"}},
		{"baseline: go run ./cmd/toolgen -h", "go command + cached link + exec, no generation", []int{0, 1, 2}, []string{"go", "run", "./cmd/toolgen", "-h"}},
	}
	var dists []Dist
	for _, s := range series {
		if _, err := timeCmd(s.okCodes, s.args[0], s.args[1:]...); err != nil { // warm the build cache
			return err
		}
		var ds []time.Duration
		for range c.genRuns {
			d, err := timeCmd(s.okCodes, s.args[0], s.args[1:]...)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		dists = append(dists, Dist{Name: s.name, Note: s.note, Stats: bench.Summarize(ds)})
	}
	dists = append(dists, Dist{Name: "go build ./cmd/toolgen (once, cache as found)", Note: "compile cost a clean clone pays once", Stats: bench.Summarize([]time.Duration{build})})
	rep.Generate = dists
	return nil
}

package app

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: HTTP mode raises GOGC and sets a soft memory limit unless the
// operator chose either, and restores the previous settings when it ends.
func TestTuneGC(t *testing.T) {
	tests := []struct {
		name             string
		gogc, gomemlimit string
		wantGC           int
		wantLimit        int64
	}{
		{name: "defaults", wantGC: httpGCPercent, wantLimit: httpMemoryLimit},
		{name: "GOGC set by the operator", gogc: "150", wantGC: 77, wantLimit: 1 << 40},
		{name: "GOMEMLIMIT set by the operator", gomemlimit: "1GiB", wantGC: 77, wantLimit: 1 << 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.gomemlimit)
			// Known previous settings, restored for the rest of the tests.
			prevGC := debug.SetGCPercent(77)
			prevLimit := debug.SetMemoryLimit(1 << 40)
			defer func() {
				debug.SetGCPercent(prevGC)
				debug.SetMemoryLimit(prevLimit)
			}()

			restore := tuneGC()
			gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
			debug.SetGCPercent(gc)
			if gc != tc.wantGC || limit != tc.wantLimit {
				t.Errorf("while serving: GOGC %d, limit %d; want %d, %d", gc, limit, tc.wantGC, tc.wantLimit)
			}
			restore()
			gc = debug.SetGCPercent(-1)
			debug.SetGCPercent(gc)
			if gc != 77 || debug.SetMemoryLimit(-1) != 1<<40 {
				t.Errorf("after serving: GOGC %d; want the previous settings back", gc)
			}
		})
	}
}

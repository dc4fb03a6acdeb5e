//go:build race

package reliability_test

// raceEnabled: the spawned binary is built with -race too, so the stdio and
// HTTP processes are checked by the race detector as well.
const raceEnabled = true

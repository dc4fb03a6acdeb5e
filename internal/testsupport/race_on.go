//go:build race

package testsupport

// Race reports whether the tests run with the race detector; Binary then
// builds the server with it too.
const Race = true

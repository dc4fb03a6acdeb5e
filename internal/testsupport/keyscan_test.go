package testsupport

import "testing"

// TestKeyScannerFindsFragments pins the scanner itself: a scanner that
// could not fail would make every transcript look clean.
func TestKeyScannerFindsFragments(t *testing.T) {
	const key = "msk_u_scanner_selftest_Qx7pL2vK9m"
	RegisterKey("Bearer " + key)
	secret := key[len("msk_u_"):]
	cases := []struct {
		name string
		out  string
		leak bool
	}{
		{"whole key", `{"text":"` + key + `"}`, true},
		{"secret only", "x" + secret + "y", true},
		{"ten from the end", "…" + secret[len(secret)-10:], true},
		{"ten from the middle", secret[7:17], true},
		{"nine characters", secret[3:12], false},
		{"prefix only", "msk_u_", false},
		{"redacted", "Bearer msk_u_[redacted]", false},
	}
	for _, c := range cases {
		if _, got := FindLeak([]byte(c.out)); got != c.leak {
			t.Errorf("%s: FindLeak(%q) = %v, want %v", c.name, c.out, got, c.leak)
		}
	}
	// A KeyScan reports what it finds through the test, also when the key
	// is split across two writes.
	for _, split := range []bool{false, true} {
		ft := &fakeTB{TB: t}
		ks := &KeyScan{t: ft}
		out := []byte("line " + secret[2:14] + "\n")
		if split {
			tail := ks.scanOverlap("stdout", nil, out[:9])
			ks.scanOverlap("stdout", tail, out[9:])
		} else {
			ks.Scan("stdout", out)
		}
		ks.Report()
		if !ft.failed {
			t.Errorf("split=%v: KeyScan did not report a leak", split)
		}
	}
}

type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Errorf(string, ...any) { f.failed = true }

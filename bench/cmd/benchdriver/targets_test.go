package main

import "testing"

// TestPairedRatio: the ratio is the median of the rounds' own ratios, so a
// round where the machine was slow for both sides does not move it; rounds
// without a floor are left out.
func TestPairedRatio(t *testing.T) {
	cases := []struct {
		name        string
		ours, floor []float64
		want        float64
	}{
		{"one slow round cancels", []float64{110, 220, 330}, []float64{100, 200, 300}, 1.1},
		{"median of odd", []float64{1, 3, 10}, []float64{1, 1, 1}, 3},
		{"median of even", []float64{2, 4}, []float64{1, 1}, 3},
		{"missing floor skipped", []float64{2, 9}, []float64{1, 0}, 2},
		{"unequal lengths pair the first", []float64{2, 4, 8}, []float64{1, 1}, 3},
		{"nothing", nil, nil, 0},
	}
	for _, c := range cases {
		if got := pairedRatio(c.ours, c.floor); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

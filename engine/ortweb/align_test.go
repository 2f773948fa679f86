package ortweb

import "testing"

func TestAlignedRange(t *testing.T) {
	for _, tc := range []struct {
		off, n, start, end int
	}{
		{0, 0, 0, 0},
		{0, 4, 0, 4},
		{8, 197120, 8, 197128},   // one float32 logits row
		{2, 2, 0, 4},             // one float16 at an odd index
		{2, 98560, 0, 98564},     // a float16 row starting mid-word
		{6, 3, 4, 12},            // odd length crossing a word
		{98558, 2, 98556, 98560}, // the last half of a word
		{1, 1, 0, 4},             // a single byte
		{400, 6, 400, 408},       // aligned start, odd end
		{4_000_002, 6, 4_000_000, 4_000_008},
	} {
		start, end := alignedRange(tc.off, tc.n)
		if start != tc.start || end != tc.end {
			t.Errorf("alignedRange(%d, %d) = [%d, %d), want [%d, %d)", tc.off, tc.n, start, end, tc.start, tc.end)
		}
		if start%copyAlign != 0 || end%copyAlign != 0 || start > tc.off || end < tc.off+tc.n {
			t.Errorf("alignedRange(%d, %d) = [%d, %d) does not cover the range on %d-byte boundaries", tc.off, tc.n, start, end, copyAlign)
		}
	}
}

package generate

import "testing"

func TestLastLogitsRow(t *testing.T) {
	for _, tc := range []struct {
		shape     []int64
		seq       int
		row, want int
		ok        bool
	}{
		{[]int64{1, 5, 10}, 5, 4, 10, true},
		{[]int64{1, 1, 10}, 5, 0, 10, true}, // last-token decoder
		{[]int64{1, 1, 10}, 1, 0, 10, true},
		{[]int64{1, 4, 10}, 5, 0, 0, false},
		{[]int64{2, 5, 10}, 5, 0, 0, false},
		{[]int64{5, 10}, 5, 0, 0, false},
	} {
		row, vocab, err := lastLogitsRow(tc.shape, tc.seq)
		if (err == nil) != tc.ok || (tc.ok && (row != tc.row || vocab != tc.want)) {
			t.Errorf("%v seq %d: row %d vocab %d err %v", tc.shape, tc.seq, row, vocab, err)
		}
	}
}

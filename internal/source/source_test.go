package source

import "testing"

func TestLinesAt(t *testing.T) {
	data := []byte("a\nbb\n\nccc")
	l := NewLines(data)
	// Increasing, repeated and decreasing queries all agree with a count.
	for _, off := range []int{0, 1, 2, 4, 5, 6, 9, 3, 0, 100} {
		want := 1
		for i := 0; i < off && i < len(data); i++ {
			if data[i] == '\n' {
				want++
			}
		}
		if got := l.At(off); got != want {
			t.Errorf("At(%d) = %d, want %d", off, got, want)
		}
	}
}

func TestLocationString(t *testing.T) {
	for _, tt := range []struct {
		l    Location
		want string
	}{
		{Location{File: "k/a.yaml", Line: 3}, "k/a.yaml:3"},
		{Location{File: "k/a.yaml"}, "k/a.yaml"},
		{Location{}, "<built-in>"},
	} {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("%+v = %q, want %q", tt.l, got, tt.want)
		}
	}
}

package netpol

import "testing"

// FuzzCalicoSelector: the parser never panics, and what it accepts it
// accepts again from its own match behaviour on a fixed label set (no
// crash on evaluation).
func FuzzCalicoSelector(f *testing.F) {
	for _, s := range []string{"", "all()", "app == 'a'", "!has(x) && (a in {'1','2'} || b not in {})", "k starts with \"p\"", "((", "a ==", "global()", "x contains 'y' || !y ends with 'z'"} {
		f.Add(s)
	}
	ls := map[string]string{"a": "1", "app": "a", "k": "prod"}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := parseCalicoSelector(s)
		if err != nil {
			return
		}
		sel.match(ls)
		sel.match(nil)
	})
}

// FuzzSplitPort: DST[:PORT[/PROTO]] splitting never panics and keeps the
// destination a prefix of the input (IPv6 in brackets aside).
func FuzzSplitPort(f *testing.F) {
	for _, s := range []string{"ns/pod:80/TCP", "10.0.0.1", "[::1]:53/UDP", "ns/svc/x:http", "::1", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dst, _, _ := SplitPort(s)
		if len(dst) > len(s) {
			t.Fatalf("dst %q longer than input %q", dst, s)
		}
	})
}

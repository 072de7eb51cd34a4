package netpol

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIPAtoms(t *testing.T) {
	bset := map[uint32]struct{}{}
	b, err := parseIPBlock("10.244.0.0/16", []string{"10.244.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	b.boundaries(bset)
	var bounds []uint32
	for x := range bset {
		bounds = append(bounds, x)
	}
	sortU32(bounds)
	f := ipFact{ranges: mustRanges("10.244.0.0/16")}
	var got []string
	for _, a := range f.atoms(bounds) {
		got = append(got, a.r.String()+"="+map[bool]string{true: "in", false: "out"}[b.contains(a.addr)])
	}
	// The last atom renders as a range: it needs more than five CIDRs.
	want := []string{"10.244.0.0/24=in", "10.244.1.0/24=out", "10.244.2.0-10.244.255.255=in"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("atoms (-want +got):\n%s", diff)
	}
	if !b.contains(netip.MustParseAddr("::ffff:10.244.0.1")) {
		t.Error("IPv4-mapped address not matched")
	}
	if b.contains(netip.MustParseAddr("fd00::1")) {
		t.Error("IPv6 address matched an IPv4 block")
	}
	for _, pub := range []string{"8.8.8.8", "203.0.113.1"} {
		u, _ := v4(netip.MustParseAddr(pub))
		in := false
		for _, r := range publicRanges {
			in = in || (u >= r.lo && u <= r.hi)
		}
		if !in {
			t.Errorf("%s not public", pub)
		}
	}
	for _, priv := range []string{"10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "100.64.0.1"} {
		u, _ := v4(netip.MustParseAddr(priv))
		for _, r := range publicRanges {
			if u >= r.lo && u <= r.hi {
				t.Errorf("%s counted as public", priv)
			}
		}
	}
}

func sortU32(s []uint32) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

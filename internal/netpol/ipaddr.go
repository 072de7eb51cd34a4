package netpol

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// An IP fact of one side of a connection: a known address, or an unknown
// address within candidate IPv4 ranges (a pod without status.podIP is
// somewhere in the pod CIDR; a node without addresses somewhere in the
// private ranges). ipBlock decisions on an unknown address are made per
// atom of the range (between consecutive CIDR boundaries of all policies)
// and reported as conditional when atoms disagree.

type v4range struct{ lo, hi uint32 }

func v4(a netip.Addr) (uint32, bool) {
	if !a.Is4() && !a.Is4In6() {
		return 0, false
	}
	b := a.Unmap().As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}

func addr4(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

func prefixRange(p netip.Prefix) (v4range, bool) {
	lo, ok := v4(p.Masked().Addr())
	if !ok {
		return v4range{}, false
	}
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
	}
	if bits <= 0 {
		return v4range{0, 0xffffffff}, true
	}
	size := uint32(1)<<(32-bits) - 1
	if bits == 32 {
		size = 0
	}
	return v4range{lo, lo + size}, true
}

func (r v4range) String() string {
	// Render as CIDRs when exact, else lo-hi.
	var cidrs []string
	lo := uint64(r.lo)
	hi := uint64(r.hi)
	for lo <= hi {
		bits := 32
		for bits > 0 {
			size := uint64(1) << (32 - (bits - 1))
			if lo%size != 0 || lo+size-1 > hi {
				break
			}
			bits--
		}
		cidrs = append(cidrs, fmt.Sprintf("%s/%d", addr4(uint32(lo)), bits))
		lo += uint64(1) << (32 - bits)
		if len(cidrs) > 4 {
			return fmt.Sprintf("%s-%s", addr4(r.lo), addr4(r.hi))
		}
	}
	return strings.Join(cidrs, ",")
}

// ipBlockSpec is a compiled ipBlock / Calico nets entry: cidr minus excepts.
type ipBlockSpec struct {
	cidr   netip.Prefix
	except []netip.Prefix
	text   string
}

func parseIPBlock(cidr string, except []string) (ipBlockSpec, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		// Calico nets also take a bare address.
		a, err2 := netip.ParseAddr(cidr)
		if err2 != nil {
			return ipBlockSpec{}, fmt.Errorf("ipBlock cidr %q: %w", cidr, err)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	b := ipBlockSpec{cidr: p.Masked(), text: cidr}
	for _, e := range except {
		ep, err := netip.ParsePrefix(e)
		if err != nil {
			return ipBlockSpec{}, fmt.Errorf("ipBlock except %q: %w", e, err)
		}
		b.except = append(b.except, ep.Masked())
	}
	if len(except) > 0 {
		b.text = cidr + " except " + strings.Join(except, ",")
	}
	return b, nil
}

func (b ipBlockSpec) contains(a netip.Addr) bool {
	a = a.Unmap()
	if !b.cidr.Contains(a) {
		return false
	}
	for _, e := range b.except {
		if e.Contains(a) {
			return false
		}
	}
	return true
}

// boundaries adds the IPv4 range starts and ends+1 of the block to set.
func (b ipBlockSpec) boundaries(set map[uint32]struct{}) {
	add := func(p netip.Prefix) {
		r, ok := prefixRange(p)
		if !ok {
			return
		}
		set[r.lo] = struct{}{}
		if r.hi != 0xffffffff {
			set[r.hi+1] = struct{}{}
		}
	}
	add(b.cidr)
	for _, e := range b.except {
		add(e)
	}
}

// ipFact is what a policy can know about an address.
type ipFact struct {
	known  bool
	addr   netip.Addr
	ranges []v4range // candidates when !known
	what   string    // e.g. "pod IP unknown, in pod CIDR 10.244.0.0/16"
}

func knownIP(a netip.Addr) ipFact { return ipFact{known: true, addr: a} }

// atoms splits the candidate ranges at the boundaries and returns one
// representative address per atom with the atom's range.
func (f ipFact) atoms(bounds []uint32) []atom {
	if f.known {
		return []atom{{addr: f.addr}}
	}
	var out []atom
	for _, r := range f.ranges {
		lo := r.lo
		i := sort.Search(len(bounds), func(i int) bool { return bounds[i] > lo })
		for ; i < len(bounds) && bounds[i] <= r.hi; i++ {
			out = append(out, atom{addr: addr4(lo), r: v4range{lo, bounds[i] - 1}, ranged: true})
			lo = bounds[i]
		}
		out = append(out, atom{addr: addr4(lo), r: v4range{lo, r.hi}, ranged: true})
	}
	return out
}

type atom struct {
	addr   netip.Addr
	r      v4range
	ranged bool
}

func mustRanges(cidrs ...string) []v4range {
	var out []v4range
	for _, c := range cidrs {
		r, ok := prefixRange(netip.MustParsePrefix(c))
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// privateRanges are where AKS pod and node addresses live when the snapshot
// does not say (RFC 1918).
var privateRanges = mustRanges("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")

// publicRanges is the IPv4 internet: everything but RFC 1918, loopback,
// link-local, CGNAT, "this network", multicast and reserved space.
var publicRanges = complement(mustRanges("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3"))

func complement(rs []v4range) []v4range {
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	var out []v4range
	next := uint64(0)
	for _, r := range rs {
		if uint64(r.lo) > next {
			out = append(out, v4range{uint32(next), r.lo - 1})
		}
		if uint64(r.hi)+1 > next {
			next = uint64(r.hi) + 1
		}
	}
	if next <= 0xffffffff {
		out = append(out, v4range{uint32(next), 0xffffffff})
	}
	return out
}

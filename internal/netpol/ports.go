package netpol

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Protocols are the L4 protocols NetworkPolicy can name (S14), in the order
// of the port key space.
var Protocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}

func protoIndex(p corev1.Protocol) (uint32, bool) {
	switch corev1.Protocol(strings.ToUpper(string(p))) {
	case corev1.ProtocolTCP:
		return 0, true
	case corev1.ProtocolUDP:
		return 1, true
	case corev1.ProtocolSCTP:
		return 2, true
	}
	return 0, false
}

// portKey packs protocol and port into one ordered key: the port space of
// each protocol is 1..65535.
func portKey(proto uint32, port int32) uint32 { return proto<<16 | uint32(port) }

type span struct{ lo, hi uint32 }

// PortSet is a set of (protocol, port) pairs as sorted, disjoint,
// non-adjacent spans of the packed key space. The zero value is empty.
type PortSet struct{ spans []span }

// AllPorts is every port of every protocol: the meaning of a rule with no
// ports (S8).
func AllPorts() PortSet {
	return PortSet{spans: []span{{portKey(0, 1), portKey(0, 65535)}, {portKey(1, 1), portKey(1, 65535)}, {portKey(2, 1), portKey(2, 65535)}}}
}

// ProtoRange is the set of ports lo..hi (inclusive) of one protocol; lo == 0
// means every port of the protocol.
func ProtoRange(p corev1.Protocol, lo, hi int32) PortSet {
	pi, ok := protoIndex(p)
	if !ok {
		return PortSet{}
	}
	if lo <= 0 {
		lo, hi = 1, 65535
	}
	if hi < lo {
		hi = lo
	}
	if hi > 65535 {
		hi = 65535
	}
	return PortSet{spans: []span{{portKey(pi, lo), portKey(pi, hi)}}}
}

// Port is the single port of a protocol.
func Port(p corev1.Protocol, port int32) PortSet { return ProtoRange(p, port, port) }

// Empty reports whether the set has no port.
func (s PortSet) Empty() bool { return len(s.spans) == 0 }

// All reports whether the set is every port of every protocol.
func (s PortSet) All() bool { return s.Equal(AllPorts()) }

// Equal compares two sets.
func (s PortSet) Equal(o PortSet) bool {
	if len(s.spans) != len(o.spans) {
		return false
	}
	for i := range s.spans {
		if s.spans[i] != o.spans[i] {
			return false
		}
	}
	return true
}

// Contains reports whether the set holds port of protocol p.
func (s PortSet) Contains(p corev1.Protocol, port int32) bool {
	pi, ok := protoIndex(p)
	if !ok {
		return false
	}
	k := portKey(pi, port)
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].hi >= k })
	return i < len(s.spans) && s.spans[i].lo <= k
}

// Union is s ∪ o.
func (s PortSet) Union(o PortSet) PortSet {
	if len(o.spans) == 0 {
		return s
	}
	if len(s.spans) == 0 {
		return o
	}
	all := make([]span, 0, len(s.spans)+len(o.spans))
	all = append(all, s.spans...)
	all = append(all, o.spans...)
	sort.Slice(all, func(i, j int) bool { return all[i].lo < all[j].lo })
	out := all[:1:1]
	out = append([]span(nil), out...)
	for _, sp := range all[1:] {
		last := &out[len(out)-1]
		if sp.lo <= last.hi+1 {
			if sp.hi > last.hi {
				last.hi = sp.hi
			}
			continue
		}
		out = append(out, sp)
	}
	return PortSet{spans: out}
}

// Intersect is s ∩ o.
func (s PortSet) Intersect(o PortSet) PortSet {
	var out []span
	i, j := 0, 0
	for i < len(s.spans) && j < len(o.spans) {
		a, b := s.spans[i], o.spans[j]
		lo, hi := max(a.lo, b.lo), min(a.hi, b.hi)
		if lo <= hi {
			out = append(out, span{lo, hi})
		}
		if a.hi < b.hi {
			i++
		} else {
			j++
		}
	}
	return PortSet{spans: out}
}

// Minus is s \ o.
func (s PortSet) Minus(o PortSet) PortSet {
	var out []span
	j := 0
	for _, a := range s.spans {
		lo := a.lo
		for j < len(o.spans) && o.spans[j].hi < lo {
			j++
		}
		k := j
		for k < len(o.spans) && o.spans[k].lo <= a.hi {
			b := o.spans[k]
			if b.lo > lo {
				out = append(out, span{lo, b.lo - 1})
			}
			if b.hi >= a.hi {
				lo = a.hi + 1
				break
			}
			lo = b.hi + 1
			k++
		}
		if lo <= a.hi {
			out = append(out, span{lo, a.hi})
		}
	}
	return PortSet{spans: out}
}

// String renders the set as "All", "None" or "TCP 80,8000-8080; UDP 53".
func (s PortSet) String() string {
	if len(s.spans) == 0 {
		return "None"
	}
	if s.All() {
		return "All"
	}
	var parts []string
	for pi, p := range Protocols {
		var r []string
		for _, sp := range s.spans {
			if sp.lo>>16 != uint32(pi) {
				continue
			}
			lo, hi := sp.lo&0xffff, sp.hi&0xffff
			switch {
			case lo == 1 && hi == 65535:
				r = append(r, "all")
			case lo == hi:
				r = append(r, strconv.Itoa(int(lo)))
			default:
				r = append(r, fmt.Sprintf("%d-%d", lo, hi))
			}
		}
		if len(r) > 0 {
			parts = append(parts, string(p)+" "+strings.Join(r, ","))
		}
	}
	return strings.Join(parts, "; ")
}

// key is a compact identity of the set for memo tables.
func (s PortSet) key() string {
	var b strings.Builder
	for _, sp := range s.spans {
		b.WriteString(strconv.FormatUint(uint64(sp.lo), 36))
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(sp.hi), 36))
		b.WriteByte(',')
	}
	return b.String()
}

package netpol

import "math/bits"

// The fast matrix: when only NetworkPolicies decide (no Calico, no admin
// tiers), a direction's allowed ports are the union of the ports of the
// rules whose peers match, so a whole row is the union, over the rules of
// the row's policies, of the rule's ports on the classes its peers select
// (precomputed bitsets). Cost: classes² cells plus the peers' popcounts,
// instead of classes² × rules evaluations. The result equals the per-pair
// evaluator (the property test checks both against a naive one).

type setTable struct {
	sets  []PortSet
	byKey map[string]uint32
	union map[uint64]uint32
	inter map[uint64]uint32
}

func newSetTable() *setTable {
	return &setTable{sets: []PortSet{{}, AllPorts()}, byKey: map[string]uint32{"": 0, AllPorts().key(): 1}, union: map[uint64]uint32{}, inter: map[uint64]uint32{}}
}

func (t *setTable) id(ps PortSet) uint32 {
	if ps.Empty() {
		return 0
	}
	k := ps.key()
	if v, ok := t.byKey[k]; ok {
		return v
	}
	v := uint32(len(t.sets))
	t.sets = append(t.sets, ps)
	t.byKey[k] = v
	return v
}

func (t *setTable) unionID(a, b uint32) uint32 {
	switch {
	case a == b || b == 0:
		return a
	case a == 0:
		return b
	case a == 1 || b == 1:
		return 1
	}
	if a > b {
		a, b = b, a
	}
	k := uint64(a)<<32 | uint64(b)
	if v, ok := t.union[k]; ok {
		return v
	}
	v := t.id(t.sets[a].Union(t.sets[b]))
	t.union[k] = v
	return v
}

func (t *setTable) interID(a, b uint32) uint32 {
	switch {
	case a == 0 || b == 0:
		return 0
	case a == b || b == 1:
		return a
	case a == 1:
		return b
	}
	if a > b {
		a, b = b, a
	}
	k := uint64(a)<<32 | uint64(b)
	if v, ok := t.inter[k]; ok {
		return v
	}
	v := t.id(t.sets[a].Intersect(t.sets[b]))
	t.inter[k] = v
	return v
}

// fastOK reports whether the fast matrix applies.
func (en *Engine) fastOK() bool {
	return !(en.linux.Calico && en.calico.any()) && !(en.linux.AdminPolicies && (en.admin.anp() || en.admin.banp()))
}

// ipBits is, per ipBlock peer, the classes some address of which the block
// matches (under the cluster's profile).
func (en *Engine) ipBits(sides []*side, pos []int) map[int][]uint64 {
	out := map[int][]uint64{}
	words := (len(sides) + 63) / 64
	for _, p := range en.peers {
		if p.ipb == nil {
			continue
		}
		bits := make([]uint64, words)
		for j, s := range sides {
			if !ipVisible(s, &en.linux) {
				continue
			}
			for _, a := range s.ip.atoms(en.bounds) {
				if p.ipb.contains(a.addr) {
					bits[j>>6] |= 1 << (uint(j) & 63)
					break
				}
			}
		}
		out[p.id] = bits
	}
	return out
}

// fastMatrix fills m.cells for the classes cls (with sides, one per class).
func (en *Engine) fastMatrix(m *Matrix, cls []*class, sides []*side) {
	n := len(cls)
	t := newSetTable()
	pos := make([]int, len(en.cl.list))
	for i := range pos {
		pos[i] = -1
	}
	for i, c := range cls {
		pos[c.id] = i
	}
	ipb := en.ipBits(sides, pos)
	// forEach calls f for every column a rule's peers select.
	forEach := func(r *krule, f func(j int)) {
		if r.allPeers {
			for j := 0; j < n; j++ {
				f(j)
			}
			return
		}
		for _, p := range r.peers {
			if p.ipb != nil {
				bs := ipb[p.id]
				for w, word := range bs {
					for word != 0 {
						b := word & -word
						j := w<<6 + bits.TrailingZeros64(b)
						f(j)
						word ^= b
					}
				}
				continue
			}
			bs := en.cl.peerBits[p.id]
			for w, word := range bs {
				for word != 0 {
					b := word & -word
					if j := pos[w<<6+bits.TrailingZeros64(b)]; j >= 0 {
						f(j)
					}
					word ^= b
				}
			}
		}
	}
	fill := func(row []uint32, v uint32) {
		for j := range row {
			row[j] = v
		}
	}
	// row computes the allowed ports of direction dir at subject i towards
	// every peer column.
	row := func(dir Direction, i int, out []uint32) {
		s := sides[i]
		prof := s.prof
		if !prof.Enforced || !s.policed {
			fill(out, 1)
			return
		}
		pols := en.kubePolicies(dir, s)
		if len(pols) == 0 {
			fill(out, 1)
			return
		}
		fill(out, 0)
		for _, kp := range pols {
			rules := kp.in
			if dir == Egress {
				rules = kp.eg
			}
			for ri := range rules {
				r := &rules[ri]
				named := false
				for _, p := range r.ports {
					named = named || p.name != ""
				}
				var fixed uint32
				if dir == Ingress || !named {
					fixed = t.id(r.portsFor(s, prof))
				}
				forEach(r, func(j int) {
					id := fixed
					if dir == Egress && named {
						id = t.id(r.portsFor(sides[j], prof))
					}
					out[j] = t.unionID(out[j], id)
				})
			}
		}
		local := prof.NodeLocalIngress
		if dir == Egress {
			local = prof.NodeLocalEgress
		}
		if local {
			for j, o := range sides {
				if o.ipIsNode && (o.everyNode || s.node != "" && o.node == s.node) {
					out[j] = 1
				}
			}
		}
	}
	in := make([][]uint32, n)
	for j := 0; j < n; j++ {
		in[j] = make([]uint32, n)
		row(Ingress, j, in[j])
	}
	for i := 0; i < n; i++ {
		eg := make([]uint32, n)
		row(Egress, i, eg)
		for j := 0; j < n; j++ {
			eg[j] = t.interID(eg[j], in[j][i])
		}
		m.cells[i] = eg
	}
	m.sets = t.sets
}

package netpol

import (
	"context"
	"runtime"
	"sync"

	"github.com/akssec/akssec/internal/env"
)

// MatrixClass is one row/column of the matrix: pods no policy tells apart.
type MatrixClass struct {
	ID        int
	Namespace string
	Pods      []*env.Pod
}

// Matrix is the pod-to-pod reachability of a cluster at class granularity:
// Cell(i, j) is the set of ports a pod of class i may open to another pod
// of class j (a pod always reaches itself, S5).
type Matrix struct {
	Plugin  string
	Classes []MatrixClass
	cells   [][]uint32
	sets    []PortSet
	texts   []string
}

// Cell is the allowed port set from class src to class dst (indexes into
// Classes).
func (m *Matrix) Cell(src, dst int) PortSet { return m.sets[m.cells[src][dst]] }

// CellString renders Cell(src, dst), computing each distinct set's text
// once (it caches: not for concurrent use on one Matrix).
func (m *Matrix) CellString(src, dst int) string {
	id := m.cells[src][dst]
	if m.texts == nil {
		m.texts = make([]string, len(m.sets))
	}
	if m.texts[id] == "" {
		m.texts[id] = m.sets[id].String()
	}
	return m.texts[id]
}

// Matrix computes the class matrix; ns limits rows and columns to one
// namespace ("" for all).
func (en *Engine) Matrix(ctx context.Context, ns string) (*Matrix, error) {
	var cls []*class
	for _, c := range en.cl.list {
		if ns == "" || c.ns == ns {
			cls = append(cls, c)
		}
	}
	m := &Matrix{Plugin: en.linux.Name, cells: make([][]uint32, len(cls)), sets: []PortSet{{}, AllPorts()}}
	for i, c := range cls {
		m.Classes = append(m.Classes, MatrixClass{ID: i, Namespace: c.ns, Pods: c.pods})
	}
	if en.fastOK() {
		sides := make([]*side, len(cls))
		for j, c := range cls {
			sides[j] = en.sideOf(PodEndpoint(c.rep))
		}
		en.fastMatrix(m, cls, sides)
		return m, ctx.Err()
	}
	var mu sync.Mutex
	intern := map[string]uint32{"": 0, AllPorts().key(): 1}
	all := AllPorts()
	id := func(ps PortSet) uint32 {
		if ps.Empty() {
			return 0
		}
		if ps.Equal(all) {
			return 1
		}
		k := ps.key()
		mu.Lock()
		defer mu.Unlock()
		if v, ok := intern[k]; ok {
			return v
		}
		v := uint32(len(m.sets))
		m.sets = append(m.sets, ps)
		intern[k] = v
		return v
	}
	workers := runtime.GOMAXPROCS(0)
	rows := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sides := make([]*side, len(cls))
			for j, c := range cls {
				s := en.sideOf(PodEndpoint(c.rep))
				s.quiet = true
				sides[j] = s
			}
			for i := range rows {
				row := make([]uint32, len(cls))
				a := *sides[i]
				for j := range cls {
					b := *sides[j]
					eg := en.evalDir(Egress, &a, &b, all)
					if eg.Ports.Empty() {
						continue
					}
					in := en.evalDir(Ingress, &b, &a, eg.Ports)
					row[j] = id(eg.Ports.Intersect(in.Ports))
				}
				m.cells[i] = row
			}
		}()
	}
	var err error
	for i := range cls {
		if err = ctx.Err(); err != nil {
			break
		}
		rows <- i
	}
	close(rows)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return m, nil
}

package netpol

import (
	"github.com/akssec/akssec/internal/env"
)

type calicoSet struct{}

func compileCalico(e *env.Environment, bset map[uint32]struct{}) *calicoSet { return &calicoSet{} }

func (c *calicoSet) any() bool { return false }

func (en *Engine) calicoTiers(dir Direction, subj, peer *side, want PortSet) tierResult {
	return en.kubeTier(dir, subj, peer, want)
}

func (en *Engine) calicoBaseline(ns string) bool { return false }

package netpol

import (
	"github.com/akssec/akssec/internal/env"
)

type adminSet struct{}

func compileAdmin(e *env.Environment, bset map[uint32]struct{}) *adminSet { return &adminSet{} }

func (a *adminSet) anp() bool  { return false }
func (a *adminSet) banp() bool { return false }

func (a *adminSet) adminTier(dir Direction, subj, peer *side, want PortSet) tierResult {
	return tierResult{}
}
func (a *adminSet) baselineTier(dir Direction, subj, peer *side, want PortSet) tierResult {
	return tierResult{}
}

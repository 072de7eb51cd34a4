package scan

import (
	"fmt"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
)

// Status is a scorecard grade.
type Status string

// Grades: fail when a high or critical finding stands, warn for medium or
// low, pass otherwise; not-checked when the snapshot lacks what the layer
// needs.
const (
	Pass       Status = "pass"
	Warn       Status = "warn"
	Fail       Status = "fail"
	NotChecked Status = "not-checked"
)

// LayerScore is one row of the defense-in-depth scorecard.
type LayerScore struct {
	Layer    finding.Layer  `json:"layer"`
	Title    string         `json:"title"`
	Status   Status         `json:"status"`
	Counts   map[string]int `json:"counts"`
	Evidence []string       `json:"evidence"`
}

var layerTitles = map[finding.Layer]string{
	finding.LayerEntra:       "Entra ID",
	finding.LayerAPIServer:   "API server authentication",
	finding.LayerRBAC:        "Kubernetes RBAC",
	finding.LayerNetwork:     "Network policy",
	finding.LayerPodSecurity: "Pod security",
	finding.LayerSecrets:     "Key Vault secrets",
	finding.LayerImages:      "Images",
}

// LayerTitle names a layer for people.
func LayerTitle(l finding.Layer) string { return layerTitles[l] }

// Score grades each layer from its findings (after suppressions).
func Score(e *env.Environment, fs []finding.Finding) []LayerScore {
	var out []LayerScore
	for _, l := range finding.Layers {
		s := LayerScore{Layer: l, Title: layerTitles[l], Status: Pass, Counts: map[string]int{}}
		worst := finding.Severity(-1)
		for _, f := range fs {
			if f.Layer != l {
				continue
			}
			s.Counts[f.Severity.String()]++
			if f.Severity > worst {
				worst = f.Severity
			}
			if len(s.Evidence) < 3 && f.Severity >= finding.Medium {
				s.Evidence = append(s.Evidence, fmt.Sprintf("%s %s: %s", f.RuleID, f.Object, f.Reason))
			}
		}
		switch {
		case worst >= finding.High:
			s.Status = Fail
		case worst >= finding.Low:
			s.Status = Warn
		}
		if reason := missing(e, l); reason != "" && worst < finding.Low {
			s.Status = NotChecked
			s.Evidence = append(s.Evidence, reason)
		}
		out = append(out, s)
	}
	return out
}

// missing says why a layer could not be checked, or "".
func missing(e *env.Environment, l finding.Layer) string {
	switch l {
	case finding.LayerEntra:
		if len(e.Azure.Users)+len(e.Azure.Groups) == 0 {
			return "no Entra users or groups in the snapshot"
		}
	case finding.LayerAPIServer:
		if e.Cluster == nil {
			return "no azure/aks.json in the snapshot"
		}
	case finding.LayerSecrets:
		if len(e.Azure.Vaults) == 0 && len(e.SecretProviderClasses) == 0 {
			return "no Key Vaults or SecretProviderClasses in the snapshot"
		}
	}
	return ""
}

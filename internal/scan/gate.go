package scan

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/finding"
)

// Suppressions is the format of a suppressions file:
//
//	apiVersion: akssec.io/v1alpha1
//	kind: Suppressions
//	suppressions:
//	- rule: AKS-NET-001
//	  object: Namespace/sandbox        # kind/name or kind/namespace/name; * and ? match
//	  reason: isolated at the subnet level, see ticket SEC-123
//	  expires: 2027-01-31              # optional; after it the finding counts again
//
// Annotations on objects are not suppressions: whoever can edit an object
// could otherwise silence the findings about it.
type Suppressions struct {
	APIVersion   string        `json:"apiVersion"`
	Kind         string        `json:"kind"`
	Suppressions []Suppression `json:"suppressions"`
}

// Suppression silences one rule on matching objects, for a reason.
type Suppression struct {
	Rule    string `json:"rule"`
	Object  string `json:"object"`
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
	expires time.Time
}

// LoadSuppressions reads and validates a suppressions file.
func LoadSuppressions(file string) (*Suppressions, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var s Suppressions
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return nil, fmt.Errorf("%s: expected kind Suppressions with a list of {rule, object, reason, expires}: %v", file, err)
	}
	if s.Kind != "Suppressions" {
		return nil, fmt.Errorf("%s: kind is %q, expected Suppressions", file, s.Kind)
	}
	for i := range s.Suppressions {
		x := &s.Suppressions[i]
		if x.Rule == "" || x.Object == "" || x.Reason == "" {
			return nil, fmt.Errorf("%s: suppression %d: rule, object and reason are required", file, i+1)
		}
		if _, err := path.Match(x.Object, ""); err != nil {
			return nil, fmt.Errorf("%s: suppression %d: object pattern %q: %v", file, i+1, x.Object, err)
		}
		if x.Expires != "" {
			t, err := time.Parse("2006-01-02", x.Expires)
			if err != nil {
				return nil, fmt.Errorf("%s: suppression %d: expires %q: expected a date YYYY-MM-DD", file, i+1, x.Expires)
			}
			x.expires = t.Add(24 * time.Hour) // valid through the whole day
		}
	}
	return &s, nil
}

// Suppressed is a finding a suppression silenced, with its reason.
type Suppressed struct {
	Finding finding.Finding `json:"finding"`
	Reason  string          `json:"reason"`
}

// Apply splits findings into kept and suppressed; expired suppressions no
// longer apply and are returned so the user hears about them.
func (s *Suppressions) Apply(fs []finding.Finding, now time.Time) (kept []finding.Finding, suppressed []Suppressed, expired []Suppression) {
	if s == nil {
		return fs, nil, nil
	}
	seenExpired := map[int]bool{}
	for _, f := range fs {
		obj := f.Object.String()
		silenced := false
		for i, x := range s.Suppressions {
			if m, _ := path.Match(x.Rule, f.RuleID); !m {
				continue
			}
			if m, _ := path.Match(x.Object, obj); !m {
				continue
			}
			if !x.expires.IsZero() && now.After(x.expires) {
				if !seenExpired[i] {
					seenExpired[i] = true
					expired = append(expired, x)
				}
				continue
			}
			suppressed = append(suppressed, Suppressed{Finding: f, Reason: x.Reason})
			silenced = true
			break
		}
		if !silenced {
			kept = append(kept, f)
		}
	}
	return kept, suppressed, expired
}

// Baseline is the set of finding keys of an earlier scan (its -o json
// output), so that CI fails only on new findings.
type Baseline map[string]bool

// LoadBaseline reads the findings of an earlier `akssec scan -o json`.
func LoadBaseline(file string) (Baseline, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Findings []finding.Finding `json:"findings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: expected the JSON of akssec scan -o json: %v", file, err)
	}
	b := Baseline{}
	for _, f := range doc.Findings {
		b[f.Key()] = true
	}
	return b, nil
}

// New returns the findings the baseline does not hold.
func (b Baseline) New(fs []finding.Finding) []finding.Finding {
	if b == nil {
		return fs
	}
	var out []finding.Finding
	for _, f := range fs {
		if !b[f.Key()] {
			out = append(out, f)
		}
	}
	return out
}

// AtOrAbove counts findings of severity min or higher.
func AtOrAbove(fs []finding.Finding, min finding.Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity >= min {
			n++
		}
	}
	return n
}

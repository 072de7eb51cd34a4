package finding

import (
	"strings"
	"testing"
)

func TestRegistryValidates(t *testing.T) {
	ok := Rule{ID: "AKS-X-001", Layer: LayerRBAC, Severity: High}
	if _, err := NewRegistry(ok); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		rules []Rule
		want  string
	}{
		{[]Rule{ok, ok}, "registered twice"},
		{[]Rule{{ID: "X-1", Layer: LayerRBAC}}, "start with AKS-"},
		{[]Rule{{ID: "AKS-X-2", Layer: "moat"}}, "unknown layer"},
	} {
		if _, err := NewRegistry(tt.rules...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewRegistry(%v) = %v, want %q", tt.rules, err, tt.want)
		}
	}
}

func TestSeverity(t *testing.T) {
	for _, name := range []string{"info", "low", "medium", "HIGH", "Critical"} {
		s, err := ParseSeverity(name)
		if err != nil || !strings.EqualFold(s.String(), name) {
			t.Errorf("ParseSeverity(%q) = %v, %v", name, s, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("unknown severity accepted")
	}
	fs := []Finding{{RuleID: "B", Severity: Low}, {RuleID: "A", Severity: High}, {RuleID: "A", Severity: Critical}}
	Sort(fs)
	if fs[0].Severity != Critical || fs[1].RuleID != "A" || fs[2].RuleID != "B" {
		t.Errorf("Sort = %+v", fs)
	}
}

package azurepolicy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/azure"
)

func assignment(name, def string, params map[string]any) *azure.PolicyAssignment {
	pv := map[string]azure.ParameterValue{}
	for k, v := range params {
		pv[k] = azure.ParameterValue{Value: v}
	}
	return &azure.PolicyAssignment{ID: "/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/" + name, Name: name, DisplayName: "display " + name,
		PolicyDefinitionID: def, Parameters: pv, EnforcementMode: "Default"}
}

const (
	allowedImages = "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469"
	noPrivileged  = "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4"
	readOnlyRoot  = "/providers/Microsoft.Authorization/policyDefinitions/df49d893-a74c-421d-bc95-c663042e5b80"
	baselineSet   = "/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d"
	restrictedSet = "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00"
)

func TestBuildMapsLikeTheAddon(t *testing.T) {
	imgs := assignment("imgs", allowedImages, map[string]any{"effect": "deny", "allowedContainerImagesRegex": "^contoso\\.azurecr\\.io/.+$",
		"excludedNamespaces": []any{"kube-system", "tools"}, "namespaces": []any{"production"},
		"labelSelector": map[string]any{"matchLabels": map[string]any{"tier": "web"}}})
	priv := assignment("priv", noPrivileged, map[string]any{"effect": "Deny"})
	priv.EnforcementMode = "DoNotEnforce"
	ro := assignment("ro", readOnlyRoot, map[string]any{"effect": "audit"})
	off := assignment("off", readOnlyRoot, map[string]any{"effect": "Disabled"})
	other := assignment("other", "/providers/Microsoft.Authorization/policyDefinitions/00000000-0000-0000-0000-000000000000", nil)
	s, err := Build([]*azure.PolicyAssignment{imgs, priv, ro, off, other}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Kind, Action string
		DoNotEnforce bool
	}
	var got []row
	for _, c := range s.Constraints {
		got = append(got, row{c.Object.GetKind(), c.EnforcementAction, c.DoNotEnforce})
	}
	want := []row{{"K8sAzureV2ContainerAllowedImages", "deny", false}, {"K8sAzureV2NoPrivilege", "dryrun", true}, {"K8sAzureV3ReadOnlyRootFilesystem", "dryrun", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("constraints (-want +got):\n%s", diff)
	}
	if len(s.Skipped) != 2 {
		t.Errorf("skipped = %v, want the Disabled and the unknown assignment", s.Skipped)
	}
	c := s.Constraints[0]
	if !strings.HasPrefix(c.Name(), "azurepolicy-k8sazurev2containerallowedimag-") {
		t.Errorf("name = %s", c.Name())
	}
	if c.DisplayName() != "display imgs" {
		t.Errorf("display name = %q", c.DisplayName())
	}
	spec := c.Object.Object["spec"].(map[string]any)
	wantSpec := map[string]any{
		"enforcementAction": "deny",
		"match": map[string]any{
			"kinds":              []any{map[string]any{"apiGroups": []any{""}, "kinds": []any{"Pod"}}},
			"excludedNamespaces": []any{"kube-system", "tools", "gatekeeper-system", "azure-arc"},
			"namespaces":         []any{"production"},
			"labelSelector":      map[string]any{"matchLabels": map[string]any{"tier": "web"}},
			"source":             "Original",
		},
		"parameters": map[string]any{"imageRegex": "^contoso\\.azurecr\\.io/.+$", "excludedContainers": []any{}},
	}
	if diff := cmp.Diff(wantSpec, spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	// Default excludedNamespaces of the definition when the assignment has none.
	ex := s.Constraints[2].Object.Object["spec"].(map[string]any)["match"].(map[string]any)["excludedNamespaces"]
	if diff := cmp.Diff([]any{"kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system"}, ex); diff != "" {
		t.Errorf("default excludedNamespaces (-want +got):\n%s", diff)
	}
}

func TestBuildInitiatives(t *testing.T) {
	s, err := Build([]*azure.PolicyAssignment{
		assignment("base", baselineSet, map[string]any{"effect": "deny", "excludedNamespaces": []any{"kube-system"}}),
		assignment("restr", restrictedSet, nil),
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var base, restr []string
	for _, c := range s.Constraints {
		name := c.TemplateFile + ":" + c.EnforcementAction
		if c.Initiative.ID == "a8640138-9b0a-4a28-b8cb-1666c838647d" {
			base = append(base, name)
		} else {
			restr = append(restr, name)
		}
	}
	wantBase := []string{"container-no-privilege-v2:deny", "host-network-ports-v3:deny", "block-host-namespace-v2:deny", "container-allowed-capabilities-v3:deny", "allowed-host-paths-v4:deny"}
	if diff := cmp.Diff(wantBase, base); diff != "" {
		t.Errorf("baseline (-want +got):\n%s", diff)
	}
	if len(restr) != 8 {
		t.Errorf("restricted has %d constraints, want 8: %v", len(restr), restr)
	}
	var caps *Constraint
	for _, c := range s.Constraints {
		if c.ReferenceID == "ContainerAllowedCapabilities" && c.Initiative.ID == "a8640138-9b0a-4a28-b8cb-1666c838647d" {
			caps = c
		}
	}
	allowed, _, _ := unstructured.NestedStringSlice(caps.Object.Object, "spec", "parameters", "allowedCapabilities")
	found := false
	for _, a := range allowed {
		found = found || a == "NET_RAW"
	}
	if !found {
		t.Errorf("the baseline initiative allows NET_RAW; got %v", allowed)
	}
	if !strings.Contains(caps.DisplayName(), "display base / ") {
		t.Errorf("member display name = %q", caps.DisplayName())
	}
}

func TestNotScopes(t *testing.T) {
	a := assignment("imgs", allowedImages, nil)
	a.NotScopes = []string{"/subscriptions/s/resourceGroups/rg"}
	s, err := Build([]*azure.PolicyAssignment{a}, Options{ClusterID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Constraints) != 0 || len(s.Skipped) != 1 {
		t.Errorf("got %d constraints, %v skipped; want the cluster excluded", len(s.Constraints), s.Skipped)
	}
}

func TestEveryDefinitionHasItsTemplate(t *testing.T) {
	names := map[string]bool{}
	for _, n := range TemplateNames() {
		names[n] = true
	}
	for id, d := range Definitions {
		if !names[d.Template] {
			t.Errorf("definition %s (%s) names template %s, which is not embedded", id, d.Name, d.Template)
		}
	}
	for _, ini := range Initiatives {
		for _, m := range ini.Members {
			if m.Definition == nil {
				t.Errorf("initiative %s member %s names no known definition", ini.ID, m.ReferenceID)
			}
		}
	}
}

// Gatekeeper refuses constraint names over 63 bytes; the add-on cuts the
// template name to fit.
func TestConstraintNames(t *testing.T) {
	for _, tc := range []struct{ template, want string }{
		{"k8sazurev1blockdefault", "azurepolicy-k8sazurev1blockdefault-412ab5a03df011a5e8c6"},
		{"k8sazurev3disallowedcapabilities", "azurepolicy-k8sazurev3disallowedcapabiliti-412ab5a03df011a5e8c6"},
	} {
		got := constraintName(tc.template, "412ab5a03df011a5e8c6")
		if got != tc.want || len(got) > 63 {
			t.Errorf("constraintName(%q) = %q (%d bytes), want %q", tc.template, got, len(got), tc.want)
		}
	}
	for _, name := range TemplateNames() {
		u, err := Template(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := constraintName(u.GetName(), strings.Repeat("f", 20)); len(n) > 63 {
			t.Errorf("%s: %q is %d bytes", name, n, len(n))
		}
	}
}

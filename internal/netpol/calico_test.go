package netpol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func gnpDoc(name, spec string) string {
	return "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: " + name + "\nspec:\n" + indent(spec, "  ")
}

func cnpDoc(ns, name, spec string) string {
	return "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\nspec:\n" + indent(spec, "  ")
}

func TestCalicoSelectorLanguage(t *testing.T) {
	ls := map[string]string{"app": "web", "tier": "front", "env": "prod-eu"}
	cases := []struct {
		sel  string
		want bool
	}{
		{"", true}, {"all()", true}, {"global()", false},
		{"app == 'web'", true}, {`app == "db"`, false}, {"app != 'db'", true}, {"missing != 'x'", true},
		{"has(tier)", true}, {"!has(tier)", false}, {"app in {'a', 'web'}", true}, {"app not in {'web'}", false},
		{"missing not in {'web'}", true}, {"env starts with 'prod'", true}, {"env ends with 'eu'", true}, {"env contains 'd-e'", true},
		{"app == 'web' && tier == 'back'", false}, {"app == 'web' || tier == 'back'", true}, {"!(app == 'db') && (has(env))", true},
	}
	for _, tc := range cases {
		s, err := parseCalicoSelector(tc.sel)
		if err != nil {
			t.Fatalf("%q: %v", tc.sel, err)
		}
		if diff := cmp.Diff(tc.want, s.match(ls)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.sel, diff)
		}
	}
	for _, bad := range []string{"app ==", "app = 'x'", "has(app", "app in {'a'"} {
		if _, err := parseCalicoSelector(bad); err == nil {
			t.Errorf("%q: want a parse error", bad)
		}
	}
}

func TestCalicoOrdering(t *testing.T) {
	kubeAllowB := npDoc("a", "allow-b", "podSelector: {matchLabels: {app: web}}\ningress: [{from: [{namespaceSelector: {matchLabels: {team: b}}}]}]")
	denyFromB := func(order string) string {
		return gnpDoc("deny-b", "order: "+order+"\nselector: projectcalico.org/namespace == 'a'\ntypes: [Ingress]\ningress:\n- action: Deny\n  source:\n    namespaceSelector: team == 'b'\n- action: Pass")
	}
	runReach(t, []reachCase{
		{name: "GNP Deny at order 100 precedes the Kubernetes allow (1000)", plugin: "calico", docs: []string{kubeAllowB, denyFromB("100")}, from: "b/client", to: "a/web", port: "8080", want: false, wantBy: "deny-b"},
		{name: "GNP Deny at order 2000 comes after the Kubernetes allow", plugin: "calico", docs: []string{kubeAllowB, denyFromB("2000")}, from: "b/client", to: "a/web", port: "8080", want: true, wantBy: "allow-b"},
		{name: "Pass with no later tier falls to the profile (allow)", plugin: "calico", docs: []string{denyFromB("100")}, from: "a/db", to: "a/web", port: "8080", want: true},
		{name: "Calico policies are ignored by NPM", plugin: "azure", docs: []string{denyFromB("100")}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "namespaced Calico policy: Allow then end-of-tier deny", plugin: "calico", docs: []string{cnpDoc("a", "only-db", "selector: app == 'web'\ningress:\n- action: Allow\n  protocol: TCP\n  source: {selector: app == 'db'}\n  destination: {ports: [8080]}")}, from: "a/db", to: "a/web", port: "8080", want: true},
		{name: "namespaced Calico selector stays in its namespace", plugin: "calico", docs: []string{cnpDoc("a", "only-db", "selector: app == 'web'\ningress:\n- action: Allow\n  source: {selector: app == 'web'}")}, from: "b/web", to: "a/web", port: "8080", want: false, wantBy: "only-db"},
		{name: "Calico port range", plugin: "calico", docs: []string{cnpDoc("a", "range", "selector: app == 'web'\ningress:\n- action: Allow\n  protocol: TCP\n  destination: {ports: ['8000:8100']}")}, from: "b/web", to: "a/web", port: "8080", want: true},
		{name: "Calico named port", plugin: "calico", docs: []string{cnpDoc("a", "named", "selector: app == 'web'\ningress:\n- action: Allow\n  protocol: UDP\n  destination: {ports: [dns]}")}, from: "b/web", to: "a/web", port: "5353", proto: "UDP", want: true},
		{name: "Calico serviceAccounts by name", plugin: "calico", docs: []string{cnpDoc("a", "sa", "selector: all()\ningress:\n- action: Allow\n  source: {serviceAccounts: {names: [default]}}")}, from: "a/db", to: "a/web", port: "8080", want: true},
		{name: "Calico egress nets Deny before allow", plugin: "calico", docs: []string{cnpDoc("a", "nets", "selector: app == 'web'\ntypes: [Egress]\negress:\n- action: Deny\n  destination: {nets: [203.0.113.0/24]}\n- action: Allow")}, from: "a/web", to: "203.0.113.7", port: "443", want: false, wantBy: "nets"},
		{name: "Calico egress nets other address allowed", plugin: "calico", docs: []string{cnpDoc("a", "nets", "selector: app == 'web'\ntypes: [Egress]\negress:\n- action: Deny\n  destination: {nets: [203.0.113.0/24]}\n- action: Allow")}, from: "a/web", to: "198.51.100.7", port: "443", want: true},
		{name: "GNP namespaceSelector scopes the policy", plugin: "calico", docs: []string{gnpDoc("iso-b", "namespaceSelector: team == 'b'\ntypes: [Ingress]")}, from: "a/web", to: "b/web", port: "8080", want: false, wantBy: "iso-b"},
		{name: "GNP namespaceSelector leaves other namespaces", plugin: "calico", docs: []string{gnpDoc("iso-b", "namespaceSelector: team == 'b'\ntypes: [Ingress]")}, from: "b/web", to: "a/web", port: "8080", want: true},
	})
}

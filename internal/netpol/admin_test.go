package netpol

import "testing"

func anpDoc(name string, priority int, spec string) string {
	return "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: " + name + "\nspec:\n  priority: " + itoa(priority) + "\n" + indent(spec, "  ")
}

func banpDoc(spec string) string {
	return "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: default\nspec:\n" + indent(spec, "  ")
}

func itoa(i int) string {
	return string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func TestAdminNetworkPolicy(t *testing.T) {
	denyB := anpDoc("deny-b", 10, "subject: {namespaces: {matchLabels: {team: a}}}\ningress:\n- name: deny-from-b\n  action: Deny\n  from: [{namespaces: {matchLabels: {team: b}}}]")
	allowB := anpDoc("allow-b", 5, "subject: {namespaces: {matchLabels: {team: a}}}\ningress:\n- name: allow-from-b\n  action: Allow\n  from: [{namespaces: {matchLabels: {team: b}}}]\n  ports: [{portNumber: {protocol: TCP, port: 8080}}]")
	passB := anpDoc("pass-b", 1, "subject: {namespaces: {matchLabels: {team: a}}}\ningress:\n- name: pass-from-b\n  action: Pass\n  from: [{namespaces: {matchLabels: {team: b}}}]")
	kubeAllow := npDoc("a", "allow-all", "podSelector: {}\ningress: [{}]")
	banpDeny := banpDoc("subject: {namespaces: {}}\ningress:\n- name: deny-all\n  action: Deny\n  from: [{namespaces: {}}]")
	runReach(t, []reachCase{
		{name: "ANP Deny overrides a NetworkPolicy allow", docs: []string{denyB, kubeAllow}, from: "b/client", to: "a/web", port: "8080", want: false, wantBy: "deny-b"},
		{name: "higher-precedence ANP Allow wins over a later Deny", docs: []string{denyB, allowB}, from: "b/client", to: "a/web", port: "8080", want: true, wantBy: "allow-b"},
		{name: "ports of the Allow limit it; the Deny takes the rest", docs: []string{denyB, allowB}, from: "b/client", to: "a/web", port: "9090", want: false, wantBy: "deny-b"},
		{name: "Pass skips the admin tier to NetworkPolicy", docs: []string{passB, denyB, kubeAllow}, from: "b/client", to: "a/web", port: "8080", want: true, wantBy: "allow-all"},
		{name: "BANP denies what no NetworkPolicy decides", docs: []string{banpDeny}, from: "b/client", to: "a/web", port: "8080", want: false, wantBy: "default"},
		{name: "NetworkPolicy allow precedes BANP deny", docs: []string{banpDeny, kubeAllow}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "NPM does not implement ANP", plugin: "azure", docs: []string{denyB, kubeAllow}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "Calico applies ANP before its tiers", plugin: "calico", docs: []string{denyB, kubeAllow}, from: "b/client", to: "a/web", port: "8080", want: false, wantBy: "deny-b"},
	})
}

package gatekeeper

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ns(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// Cases follow gatekeeper pkg/mutation/match/match.go and the howto's
// "The match field".
func TestMatch(t *testing.T) {
	pod := func(namespace string, labels map[string]string) *MatchTarget {
		return &MatchTarget{Kind: "Pod", Namespace: namespace, Name: "p", Labels: labels, NamespaceObject: ns(namespace, map[string]string{"env": "prod"}), Source: SourceOriginal}
	}
	cases := []struct {
		name    string
		match   map[string]any
		target  *MatchTarget
		want    bool
		wantErr error
	}{
		{"no match matches all", nil, pod("a", nil), true, nil},
		{"kind matches", map[string]any{"kinds": []any{map[string]any{"apiGroups": []any{""}, "kinds": []any{"Pod"}}}}, pod("a", nil), true, nil},
		{"kind differs", map[string]any{"kinds": []any{map[string]any{"apiGroups": []any{""}, "kinds": []any{"Service"}}}}, pod("a", nil), false, nil},
		{"group differs", map[string]any{"kinds": []any{map[string]any{"apiGroups": []any{"apps"}, "kinds": []any{"Pod"}}}}, pod("a", nil), false, nil},
		{"wildcard group and kind", map[string]any{"kinds": []any{map[string]any{"apiGroups": []any{"*"}, "kinds": []any{"*"}}}}, pod("a", nil), true, nil},
		{"empty kinds in entry means all kinds", map[string]any{"kinds": []any{map[string]any{"apiGroups": []any{""}}}}, pod("a", nil), true, nil},
		{"namespaces exact", map[string]any{"namespaces": []any{"a"}}, pod("a", nil), true, nil},
		{"namespaces prefix glob", map[string]any{"namespaces": []any{"prod-*"}}, pod("prod-eu", nil), true, nil},
		{"namespaces suffix glob", map[string]any{"namespaces": []any{"*-system"}}, pod("kube-system", nil), true, nil},
		{"namespaces miss", map[string]any{"namespaces": []any{"b"}}, pod("a", nil), false, nil},
		{"excludedNamespaces glob", map[string]any{"excludedNamespaces": []any{"kube-*"}}, pod("kube-system", nil), false, nil},
		{"excludedNamespaces other", map[string]any{"excludedNamespaces": []any{"kube-*"}}, pod("default", nil), true, nil},
		{"cluster-scoped object matches namespaces", map[string]any{"namespaces": []any{"a"}}, &MatchTarget{Kind: "ClusterRole", Group: "rbac.authorization.k8s.io", Name: "x", Source: SourceOriginal}, true, nil},
		{"cluster-scoped object is not excluded", map[string]any{"excludedNamespaces": []any{"*"}}, &MatchTarget{Kind: "ClusterRole", Name: "x", Source: SourceOriginal}, true, nil},
		{"namespace object uses its own name", map[string]any{"excludedNamespaces": []any{"kube-system"}}, &MatchTarget{Kind: "Namespace", Name: "kube-system", Source: SourceOriginal}, false, nil},
		{"scope Namespaced excludes cluster objects", map[string]any{"scope": "Namespaced"}, &MatchTarget{Kind: "ClusterRole", Name: "x", Source: SourceOriginal}, false, nil},
		{"scope Cluster takes Namespace objects", map[string]any{"scope": "Cluster"}, &MatchTarget{Kind: "Namespace", Name: "x", Source: SourceOriginal}, true, nil},
		{"scope Cluster drops pods", map[string]any{"scope": "Cluster"}, pod("a", nil), false, nil},
		{"labelSelector", map[string]any{"labelSelector": map[string]any{"matchLabels": map[string]any{"app": "x"}}}, pod("a", map[string]string{"app": "x"}), true, nil},
		{"labelSelector expression", map[string]any{"labelSelector": map[string]any{"matchExpressions": []any{map[string]any{"key": "app", "operator": "NotIn", "values": []any{"x"}}}}}, pod("a", map[string]string{"app": "x"}), false, nil},
		{"namespaceSelector on namespace labels", map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"env": "prod"}}}, pod("a", nil), true, nil},
		{"namespaceSelector miss", map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"env": "dev"}}}, pod("a", nil), false, nil},
		{"namespaceSelector without the Namespace is an error", map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"env": "prod"}}}, &MatchTarget{Kind: "Pod", Namespace: "a", Name: "p", Source: SourceOriginal}, false, ErrMissingNamespace},
		{"namespaceSelector passes cluster objects", map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"env": "prod"}}}, &MatchTarget{Kind: "ClusterRole", Name: "x", Source: SourceOriginal}, true, nil},
		{"namespaceSelector on a Namespace uses its labels", map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"env": "prod"}}}, &MatchTarget{Kind: "Namespace", Name: "x", Labels: map[string]string{"env": "prod"}, Source: SourceOriginal}, true, nil},
		{"name glob", map[string]any{"name": "deb*"}, &MatchTarget{Kind: "Pod", Namespace: "a", Name: "debug-tools", Source: SourceOriginal}, true, nil},
		{"name matches generateName prefix", map[string]any{"name": "web-*"}, &MatchTarget{Kind: "Pod", Namespace: "a", GenerateName: "web-", Source: SourceOriginal}, true, nil},
		{"suffix name never matches generateName", map[string]any{"name": "*-web"}, &MatchTarget{Kind: "Pod", Namespace: "a", GenerateName: "x-web", Source: SourceOriginal}, false, nil},
		{"source Original skips generated", map[string]any{"source": "Original"}, &MatchTarget{Kind: "Pod", Namespace: "a", Name: "p", Source: SourceGenerated}, false, nil},
		{"source Generated takes generated", map[string]any{"source": "Generated"}, &MatchTarget{Kind: "Pod", Namespace: "a", Name: "p", Source: SourceGenerated}, true, nil},
		{"source default All", map[string]any{}, &MatchTarget{Kind: "Pod", Namespace: "a", Name: "p", Source: SourceGenerated}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMatch(tc.match)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Matches(tc.target)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseMatchRejects(t *testing.T) {
	for _, m := range []map[string]any{
		{"scope": "Everywhere"},
		{"source": "Both"},
		{"labelSelector": map[string]any{"matchExpressions": []any{map[string]any{"key": "a", "operator": "Near"}}}},
	} {
		if _, err := ParseMatch(m); err == nil {
			t.Errorf("ParseMatch(%v) accepted an invalid match", m)
		}
	}
}

package images

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/snapshot"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in             string
		want           Ref
		latest, public bool
		acr            string
	}{
		{"nginx", Ref{Raw: "nginx", Registry: "docker.io", Repository: "library/nginx"}, true, true, ""},
		{"nginx:latest", Ref{Raw: "nginx:latest", Registry: "docker.io", Repository: "library/nginx", Tag: "latest"}, true, true, ""},
		{"docker.io/library/busybox:1.36", Ref{Raw: "docker.io/library/busybox:1.36", Registry: "docker.io", Repository: "library/busybox", Tag: "1.36"}, false, true, ""},
		{"bitnami/redis:7", Ref{Raw: "bitnami/redis:7", Registry: "docker.io", Repository: "bitnami/redis", Tag: "7"}, false, true, ""},
		{"contoso.azurecr.io/myapp:1.4.2", Ref{Raw: "contoso.azurecr.io/myapp:1.4.2", Registry: "contoso.azurecr.io", Repository: "myapp", Tag: "1.4.2"}, false, false, "contoso"},
		{"localhost:5000/app@sha256:abc", Ref{Raw: "localhost:5000/app@sha256:abc", Registry: "localhost:5000", Repository: "app", Digest: "sha256:abc"}, false, false, ""},
		{"evil.example/contoso.azurecr.io/x:1.0", Ref{Raw: "evil.example/contoso.azurecr.io/x:1.0", Registry: "evil.example", Repository: "contoso.azurecr.io/x", Tag: "1.0"}, false, false, ""},
		{"Contoso.azurecr.io/a:1@sha256:d", Ref{Raw: "Contoso.azurecr.io/a:1@sha256:d", Registry: "contoso.azurecr.io", Repository: "a", Tag: "1", Digest: "sha256:d"}, false, false, "contoso"},
	}
	for _, tt := range tests {
		got := Parse(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
		}
		if got.Latest() != tt.latest || got.Public() != tt.public || got.ACR() != tt.acr {
			t.Errorf("Parse(%q): latest %v public %v acr %q; want %v %v %q", tt.in, got.Latest(), got.Public(), got.ACR(), tt.latest, tt.public, tt.acr)
		}
	}
}

func obj(typed any, ns, name, kind string) *snapshot.Object {
	return &snapshot.Object{Kind: kind, Namespace: ns, Name: name, Typed: typed, APIVersion: "v1"}
}

func TestCheck(t *testing.T) {
	pod := func(name string, images ...string) *snapshot.Object {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"}}
		for i, im := range images {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i)), Image: im})
		}
		return obj(p, "prod", name, "Pod")
	}
	kubelet := &azure.UserIdentity{ClientID: "kc", ObjectID: "kubelet-oid"}
	d := azure.Data{
		Cluster: &azure.ManagedCluster{Name: "aks", IdentityProfile: map[string]*azure.UserIdentity{"kubeletidentity": kubelet}},
		RoleAssignments: []*azure.RoleAssignment{{PrincipalID: "kubelet-oid", Scope: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso",
			RoleDefinitionID: "/x/roleDefinitions/" + azrole.AcrPull}},
		PolicyAssignments: []*azure.PolicyAssignment{{Name: "allowed", PolicyDefinitionID: "/providers/Microsoft.Authorization/policyDefinitions/" + AllowedImagesDefinition,
			Parameters: map[string]azure.ParameterValue{"allowedContainerImagesRegex": {Value: "contoso.azurecr.io/.+"}}}},
	}
	s := &snapshot.Snapshot{Azure: d, Objects: []*snapshot.Object{
		pod("pinned", "contoso.azurecr.io/app@sha256:0123"),
		pod("tagged", "contoso.azurecr.io/app:1.0"),
		pod("floating", "contoso.azurecr.io/app"),
		pod("hub", "docker.io/library/busybox:1.36@sha256:aa"),
		pod("other-acr", "fabrikam.azurecr.io/app@sha256:1"),
		pod("evil", "evil.example/contoso.azurecr.io/x@sha256:2"),
	}}
	e := env.New(s)
	var got []string
	for _, f := range Check(context.Background(), e) {
		got = append(got, f.RuleID+" "+f.Object.Name)
	}
	sort.Strings(got)
	want := []string{
		"AKS-IMG-101 floating",
		"AKS-IMG-102 tagged",
		"AKS-IMG-103 evil", // allowed by the unanchored regex, but not from an ACR
		"AKS-IMG-103 hub",
		"AKS-IMG-104 other-acr",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if _, err := finding.NewRegistry(Rules()...); err != nil {
		t.Fatal(err)
	}
	regs := Registries(e)
	var allowed []string
	for _, r := range regs {
		allowed = append(allowed, fmt.Sprintf("%s allowed=%v pull=%s", r.Registry, r.Allowed, r.KubeletCanPull))
	}
	wantRegs := []string{"contoso.azurecr.io allowed=true pull=yes", "docker.io allowed=false pull=", "evil.example allowed=true pull=", "fabrikam.azurecr.io allowed=false pull=no"}
	if diff := cmp.Diff(wantRegs, allowed); diff != "" {
		t.Errorf("registries (-want +got):\n%s", diff)
	}
}

func TestCanPull(t *testing.T) {
	kubelet := &azure.UserIdentity{ClientID: "kc", ObjectID: "k"}
	mk := func(scope, role string) *env.Environment {
		return env.New(&snapshot.Snapshot{Azure: azure.Data{
			Cluster:         &azure.ManagedCluster{IdentityProfile: map[string]*azure.UserIdentity{"kubeletidentity": kubelet}},
			RoleAssignments: []*azure.RoleAssignment{{PrincipalID: "k", Scope: scope, RoleDefinitionID: "/x/roleDefinitions/" + role}}}})
	}
	tests := []struct {
		name, scope, role, registry, want string
	}{
		{"AcrPull on the registry", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso", azrole.AcrPull, "contoso", "yes"},
		{"AcrPull on another registry", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso2", azrole.AcrPull, "contoso", "no"},
		{"Reader pulls (*/read; ACR's role table lists pull for Reader)", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso", azrole.Reader, "contoso", "yes"},
		{"Key Vault Secrets User does not pull", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso", azrole.KeyVaultSecretsUser, "contoso", "no"},
		{"Contributor pulls (actions *)", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso", azrole.Contributor, "contoso", "yes"},
		{"AcrPull on a resource group", "/subscriptions/s/resourceGroups/rg", azrole.AcrPull, "contoso", "unknown"},
	}
	for _, tt := range tests {
		if got := NewPullChecker(mk(tt.scope, tt.role)).CanPull(tt.registry).Answer; got != tt.want {
			t.Errorf("%s: CanPull = %s, want %s", tt.name, got, tt.want)
		}
	}
}

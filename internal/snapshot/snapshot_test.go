package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/source"
)

const example = "../../examples/contoso-bank"

// writeSnapshot lays files out as a snapshot in a temp dir.
func writeSnapshot(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func find(s *Snapshot, kind, ns, name string) *Object {
	for _, o := range s.Objects {
		if o.Kind == kind && o.Namespace == ns && o.Name == name {
			return o
		}
	}
	return nil
}

func TestLoadExample(t *testing.T) {
	s, err := Load(context.Background(), example, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		kind, ns, name string
		want           source.Location
	}{
		{"Pod", "default", "myapp", source.Location{File: "kubernetes/default.yaml", Line: 22, Doc: 2}},
		{"Namespace", "", "sandbox", source.Location{File: "kubernetes/namespaces.yaml", Line: 49, Doc: 1}},
		{"RoleBinding", "trading", "trading-analysts-read", source.Location{File: "kubernetes/rbac.yaml", Line: 74, Doc: 6}},
		{"ServiceAccount", "compliance", "audit-sa", source.Location{File: "kubernetes/serviceaccounts.json", Line: 163}},
	}
	for _, tt := range tests {
		o := find(s, tt.kind, tt.ns, tt.name)
		if o == nil {
			t.Errorf("%s %s/%s not loaded", tt.kind, tt.ns, tt.name)
			continue
		}
		if diff := cmp.Diff(tt.want, o.Loc); diff != "" {
			t.Errorf("%s %s/%s location (-want +got):\n%s", tt.kind, tt.ns, tt.name, diff)
		}
	}
	if got := len(s.Azure.Users); got != 7 {
		t.Errorf("users = %d, want 7", got)
	}
	if c := s.Azure.Cluster; c == nil || c.IssuerURL() != "https://eastus.oic.prod-aks.azure.com/5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/" {
		t.Errorf("cluster issuer not loaded: %+v", c)
	}
	var trading string
	for _, f := range s.Azure.FederatedCredentials {
		if f.IdentityName() == "trading-identity" {
			trading = f.Issuer
		}
	}
	if strings.HasSuffix(trading, "/") || trading == "" {
		t.Errorf("trading-identity issuer = %q, want the planted one without trailing slash", trading)
	}
	if len(s.Problems) != 0 {
		t.Errorf("problems: %v", s.Problems)
	}
}

// TestInvalid checks every file of testdata/invalid: rejected, with the
// expected message naming file and line.
func TestInvalid(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		File, PlaceAs, Want string
	}
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir("testdata/invalid")
	if len(entries)-1 != len(cases) {
		t.Errorf("testdata/invalid has %d files but cases.yaml lists %d", len(entries)-1, len(cases))
	}
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			content, err := os.ReadFile(filepath.Join("testdata/invalid", c.File))
			if err != nil {
				t.Fatal(err)
			}
			dir := writeSnapshot(t, map[string]string{c.PlaceAs: string(content)})
			_, err = Load(context.Background(), dir, Options{})
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load error = %v, want a *LoadError", err)
			}
			if !strings.Contains(err.Error(), c.Want) {
				t.Errorf("error does not contain %q:\n%v", c.Want, err)
			}
		})
	}
}

func TestKeepGoingSkipsBrokenFilesWhole(t *testing.T) {
	dir := writeSnapshot(t, map[string]string{
		"kubernetes/good.yaml":  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: good\n",
		"kubernetes/mixed.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: fine\n---\napiVersion: v1\nkind: Pod\nmetadata: {}\n",
	})
	if _, err := Load(context.Background(), dir, Options{}); err == nil {
		t.Fatal("Load without KeepGoing succeeded on a broken file")
	}
	s, err := Load(context.Background(), dir, Options{KeepGoing: true})
	if err != nil {
		t.Fatalf("Load with KeepGoing: %v", err)
	}
	if diff := cmp.Diff([]string{"kubernetes/mixed.yaml"}, s.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if find(s, "Namespace", "", "fine") != nil {
		t.Error("a good document of a broken file was loaded: files must load whole or not at all")
	}
	if find(s, "Namespace", "", "good") == nil {
		t.Error("the good file was not loaded")
	}
}

func TestSecretValuesAreDropped(t *testing.T) {
	const value = "c3VwZXJzZWNyZXQ=" // "supersecret"
	dir := writeSnapshot(t, map[string]string{"kubernetes/s.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: default
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"` + value + `"}}'
    team: payments
data:
  password: ` + value + `
stringData:
  user: admin-supersecret
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: default
data:
  token: supersecret
`})
	s, err := Load(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sec := find(s, "Secret", "default", "db").Typed.(*corev1.Secret)
	if diff := cmp.Diff(map[string][]byte{"password": nil, "user": nil}, sec.Data); diff != "" {
		t.Errorf("secret keys (-want +got):\n%s", diff)
	}
	if sec.StringData != nil {
		t.Errorf("stringData kept: %v", sec.StringData)
	}
	if diff := cmp.Diff(map[string]string{"team": "payments"}, sec.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	cm := find(s, "ConfigMap", "default", "cfg").Typed.(*corev1.ConfigMap)
	if diff := cmp.Diff(map[string]string{"token": ""}, cm.Data); diff != "" {
		t.Errorf("configmap (-want +got):\n%s", diff)
	}
}

func TestDefaulting(t *testing.T) {
	dir := writeSnapshot(t, map[string]string{"kubernetes/d.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: egress-only-rules
spec:
  podSelector: {}
  egress:
  - ports:
    - port: 53
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: nothing
  namespace: prod
spec:
  podSelector: {}
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: prod
spec:
  containers:
  - name: c
    image: x
    ports:
    - containerPort: 80
  volumes:
  - name: scratch
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: prod}
spec:
  clusterIP: None
  ports:
  - port: 5432
  - port: 9187
    targetPort: ""
`})
	s, err := Load(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	np := find(s, "NetworkPolicy", "default", "egress-only-rules")
	if np == nil {
		t.Fatal("a namespaced object without a namespace must land in default, as kubectl apply puts it")
	}
	tcp := corev1.ProtocolTCP
	got := np.Typed.(*networkingv1.NetworkPolicy)
	if diff := cmp.Diff([]networkingv1.PolicyType{"Ingress", "Egress"}, got.Spec.PolicyTypes); diff != "" {
		t.Errorf("policyTypes with egress rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&tcp, got.Spec.Egress[0].Ports[0].Protocol); diff != "" {
		t.Errorf("port protocol (-want +got):\n%s", diff)
	}
	nothing := find(s, "NetworkPolicy", "prod", "nothing").Typed.(*networkingv1.NetworkPolicy)
	if diff := cmp.Diff([]networkingv1.PolicyType{"Ingress"}, nothing.Spec.PolicyTypes); diff != "" {
		t.Errorf("policyTypes without rules (-want +got):\n%s", diff)
	}
	pod := find(s, "Pod", "prod", "p").Typed.(*corev1.Pod)
	if pod.Spec.Volumes[0].EmptyDir == nil {
		t.Error("a volume with no source must default to emptyDir")
	}
	if pod.Spec.ServiceAccountName != "default" {
		t.Errorf("serviceAccountName = %q, want default", pod.Spec.ServiceAccountName)
	}
	if pod.Spec.Containers[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Error("container port protocol must default to TCP")
	}
	// SetDefaults_Service: type ClusterIP; an unset or empty targetPort is
	// the port, headless Services included.
	svc := find(s, "Service", "prod", "headless").Typed.(*corev1.Service)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].TargetPort.IntVal != 5432 || svc.Spec.Ports[1].TargetPort.IntVal != 9187 || svc.Spec.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("service defaults: %+v", svc.Spec)
	}
}

func TestYAMLIsReadAsKubectlReadsIt(t *testing.T) {
	// kubectl converts YAML with YAML 1.1 rules: an unquoted "on" is a
	// boolean, so a label value "on" fails to decode just as kubectl apply
	// fails on it.
	dir := writeSnapshot(t, map[string]string{"kubernetes/l.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n    feature: on\n"})
	_, err := Load(context.Background(), dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("unquoted on as a label value: got %v, want a decode error naming the labels field", err)
	}
}

func TestLimits(t *testing.T) {
	dir := writeSnapshot(t, map[string]string{"kubernetes/big.yaml": strings.Repeat("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n---\n", 20)})
	_, err := Load(context.Background(), dir, Options{Limits: Limits{MaxDocuments: 10}})
	if err == nil || !strings.Contains(err.Error(), "more than 10 documents") {
		t.Errorf("document limit: got %v", err)
	}
	_, err = Load(context.Background(), dir, Options{Limits: Limits{MaxFileBytes: 100}})
	if err == nil || !strings.Contains(err.Error(), "above the limit of 100") {
		t.Errorf("size limit: got %v", err)
	}
}

func TestAzureIndex(t *testing.T) {
	users := `[{"id": "u1", "userPrincipalName": "a@contoso.com", "displayName": "A"}]`
	dir := writeSnapshot(t, map[string]string{
		"azure/index.yaml":         "apiVersion: akssec.io/v1alpha1\nkind: AzureIndex\nfiles:\n  export/people.json: az ad user list\n  export/g1.json: \"az ad group member list --group 'g-1'\"\n",
		"azure/export/people.json": users,
		"azure/export/g1.json":     `[{"@odata.type": "#microsoft.graph.user", "id": "u1"}]`,
		"azure/sniffed.json":       `[{"id": "g-1", "displayName": "G", "securityEnabled": true}]`,
		"azure/unknown.json":       `[]`,
	})
	s, err := Load(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Azure.Users) != 1 || len(s.Azure.Groups) != 1 || len(s.Azure.Members) != 1 || s.Azure.Members[0].GroupID != "g-1" {
		t.Errorf("azure data = users %d groups %d members %+v", len(s.Azure.Users), len(s.Azure.Groups), s.Azure.Members)
	}
	if len(s.Problems) != 1 || !s.Problems[0].Warning || s.Problems[0].Loc.File != "azure/unknown.json" {
		t.Errorf("problems = %v, want one warning for azure/unknown.json", s.Problems)
	}
}

func TestLoadManifests(t *testing.T) {
	objs, err := LoadManifests([]string{example + "/manifests/privileged-pod.yaml"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Name != "privileged-shell" || objs[0].Loc.File != example+"/manifests/privileged-pod.yaml" || objs[0].Loc.Line != 3 {
		t.Errorf("got %+v", objs[0])
	}
}

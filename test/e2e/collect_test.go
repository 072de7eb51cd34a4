package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

const collectSecretValue = "e2e-collect-secret-value-Zq81"

// inventory is the part of `akssec inventory -o json` the test reads.
type inventory struct {
	Kinds   map[string]int `json:"kinds"`
	Azure   map[string]int `json:"azure"`
	Objects []struct {
		Kind, Namespace, Name string
	} `json:"objects"`
	Problems []any `json:"problems"`
}

// seedCollect creates, in namespace ns, one object of most kinds akssec
// reads, a Secret whose value must never reach the snapshot, 5 pods (more
// than one page at --chunk-size 2), and a SecretProviderClass through its
// CRD (a kind found by discovery).
func seedCollect(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	cs := suite.client
	makeNamespace(t, ns, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"})
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns, Annotations: map[string]string{
			"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"password":"` + collectSecretValue + `"}}`}},
		StringData: map[string]string{"password": collectSecretValue},
		Data:       map[string][]byte{"user": []byte(collectSecretValue + "-user")},
	}, metav1.CreateOptions{}))
	must(cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}, Data: map[string]string{"mode": "strict"},
	}, metav1.CreateOptions{}))
	must(cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "app-sa", Namespace: ns, Annotations: map[string]string{"azure.workload.identity/client-id": "00000000-0000-4000-8000-00000000c11d"}},
	}, metav1.CreateOptions{}))
	for _, name := range []string{"p1", "p2", "p3", "p4", "p5"} {
		must(cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}},
		}, metav1.CreateOptions{}))
	}
	labels := map[string]string{"app": "api"}
	must(cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "contoso.azurecr.io/api:1"}}}},
		},
	}, metav1.CreateOptions{}))
	must(cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: ns},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}, metav1.CreateOptions{}))
	must(cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-reader", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{}))
	must(cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "limited-reads-pods", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "limited"}},
	}, metav1.CreateOptions{}))

	// SecretProviderClass: install its CRD (as the Secrets Store CSI
	// driver does), wait until it is served, create one.
	ext, err := apiextclient.NewForConfig(suite.cluster.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "secretproviderclasses.secrets-store.csi.x-k8s.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "secrets-store.csi.x-k8s.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "secretproviderclasses", Singular: "secretproviderclass", Kind: "SecretProviderClass", ListKind: "SecretProviderClassList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true)}}}},
		},
	}
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(suite.cluster.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	spc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
		"metadata": map[string]any{"name": "kv-secrets", "namespace": ns},
		"spec": map[string]any{"provider": "azure", "parameters": map[string]any{
			"clientID": "00000000-0000-4000-8000-00000000c11d", "keyvaultName": "myKV", "tenantId": "5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60",
			"objects": "array:\n  - |\n    objectName: db-password\n    objectType: secret\n"}},
	}}
	gvr := schema.GroupVersionResource{Group: "secrets-store.csi.x-k8s.io", Version: "v1", Resource: "secretproviderclasses"}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, spc, metav1.CreateOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("creating the SecretProviderClass once its CRD is served: %v", err)
	}
}

func TestCollect(t *testing.T) {
	requireCluster(t)
	const ns = "collect-e2e"
	seedCollect(t, ns)

	// An azure/ part to copy in, as --azure-from does.
	azFrom := t.TempDir()
	if err := os.WriteFile(filepath.Join(azFrom, "aks.json"), []byte(`{"name":"aks-e2e","type":"Microsoft.ContainerService/ManagedClusters","kubernetesVersion":"1.37.2","aadProfile":{"managed":true,"enableAzureRbac":false}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "snap")
	_, stderr, code := akssec(t, nil, "collect", "-o", dir, "--kubeconfig", suite.cluster.Kubeconfig, "--chunk-size", "2", "--azure-from", azFrom)
	if code != 0 {
		t.Fatalf("akssec collect exited %d:\n%s", code, stderr)
	}
	if !strings.Contains(string(stderr), "pods") || !strings.Contains(string(stderr), "wrote ") {
		t.Errorf("collect showed no progress on stderr:\n%s", stderr)
	}

	// No secret value, in any encoding, anywhere in the snapshot.
	forbidden := []string{collectSecretValue, base64.StdEncoding.EncodeToString([]byte(collectSecretValue)),
		base64.StdEncoding.EncodeToString([]byte(collectSecretValue + "-user")), "last-applied-configuration", "managedFields"}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, bad := range forbidden {
			if strings.Contains(string(data), bad) {
				t.Errorf("%s holds %q", p, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	out, stderr, code := akssec(t, nil, "-e", dir, "inventory", "-o", "json")
	if code != 0 {
		t.Fatalf("akssec inventory exited %d:\n%s", code, stderr)
	}
	var inv inventory
	if err := json.Unmarshal(out, &inv); err != nil {
		t.Fatalf("inventory output: %v\n%s", err, out)
	}
	if len(inv.Problems) != 0 {
		t.Errorf("inventory problems: %v", inv.Problems)
	}
	got := map[string]bool{}
	for _, o := range inv.Objects {
		if o.Namespace == ns || o.Kind == "Namespace" && o.Name == ns || o.Kind == "ManagedCluster" {
			got[o.Kind+"/"+o.Name] = true
		}
	}
	var want []string
	for _, ref := range []string{
		"Namespace/" + ns, "Secret/db", "ConfigMap/settings", "ServiceAccount/app-sa", "ServiceAccount/default",
		"Pod/p1", "Pod/p2", "Pod/p3", "Pod/p4", "Pod/p5", "Deployment/api", "NetworkPolicy/default-deny",
		"Role/pod-reader", "RoleBinding/limited-reads-pods", "SecretProviderClass/kv-secrets", "ManagedCluster/aks-e2e",
	} {
		if !got[ref] {
			want = append(want, ref)
		}
	}
	if len(want) > 0 {
		t.Errorf("the collected snapshot lacks %v", want)
	}
	// Cluster-wide kinds from the API server's bootstrap policy.
	for _, k := range []string{"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"} {
		if inv.Kinds[k] == 0 {
			t.Errorf("no %s collected", k)
		}
	}
}

// TestCollectForbiddenKinds collects as a user who may list only pods in
// one namespace: every other kind is forbidden, reported, and not fatal.
func TestCollectForbiddenKinds(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	const ns = "collect-limited"
	makeNamespace(t, ns, nil)
	if _, err := suite.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "collect-pods-only"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := suite.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "collect-pods-only"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "collect-pods-only"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "pod-lister"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := suite.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "only", Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Kinds []struct {
			Kind    string
			Objects int
			Skipped string
		}
	}
	// RBAC reaches the new binding through an informer: retry until the
	// pods are listed.
	dir := filepath.Join(t.TempDir(), "snap")
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, stderr, code := akssec(t, nil, "collect", "-o", dir, "--overwrite", "--no-azure", "--kubeconfig", suite.cluster.Kubeconfig, "--as", "pod-lister")
		if code != 0 {
			t.Fatalf("collect as a limited user exited %d (forbidden kinds must not be fatal):\n%s", code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, "collect-report.json"))
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			return false, err
		}
		for _, k := range rep.Kinds {
			if k.Kind == "pods" && k.Skipped == "" && k.Objects > 0 {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the pod lister never listed pods: %v", err)
	}
	var listed, forbiddenKinds []string
	for _, k := range rep.Kinds {
		switch {
		case k.Skipped == "":
			listed = append(listed, k.Kind)
		case strings.HasPrefix(k.Skipped, "forbidden: "):
			forbiddenKinds = append(forbiddenKinds, k.Kind)
		default:
			t.Errorf("%s skipped for %q, want forbidden", k.Kind, k.Skipped)
		}
	}
	if diff := cmp.Diff([]string{"pods"}, listed); diff != "" {
		t.Errorf("kinds listed (-want +got):\n%s", diff)
	}
	if len(forbiddenKinds) < 18 {
		t.Errorf("forbidden kinds = %v, want every other built-in kind", forbiddenKinds)
	}
}

package secretsstore

import (
	"fmt"
	"strings"
)

// DebugStep is one step of the seed's troubleshooting of a failed secret
// mount (scenario 2): what a person would run, what akssec finds there, and
// the verdict.
type DebugStep struct {
	N       int      `json:"step"`
	Title   string   `json:"title"`
	Command string   `json:"command"`
	Status  Status   `json:"status"`
	Found   []string `json:"found"`
	Error   string   `json:"error,omitempty"`
	Fix     string   `json:"fix,omitempty"`
}

// Explanation walks the six debugging steps for one secrets-store volume.
type Explanation struct {
	Pod    string      `json:"pod"`
	Volume string      `json:"volume"`
	Class  string      `json:"secretProviderClass"`
	Steps  []DebugStep `json:"steps"`
	// Cause names the first failing step, "" when the mount succeeds.
	Cause string `json:"cause,omitempty"`
}

// debugGroups maps the six steps to the mount chain's steps.
var debugGroups = []struct {
	title string
	steps []string
	cmd   func(ns, pod, class, sa string, v Volume) string
}{
	{"Read the pod's events: is it a FailedMount of the secrets-store volume?", []string{"pod"},
		func(ns, pod, _, _ string, _ Volume) string {
			return fmt.Sprintf("kubectl describe pod %s -n %s", pod, ns)
		}},
	{"Check the SecretProviderClass: provider, keyvaultName, tenantID, identity parameters, objects", []string{"secret provider class"},
		func(ns, _, class, _ string, _ Volume) string {
			return fmt.Sprintf("kubectl get secretproviderclass %s -n %s -o yaml", class, ns)
		}},
	{"Check the identity: the ServiceAccount, its annotations, the clientID's managed identity", []string{"service account", "identity"},
		func(ns, _, _, sa string, _ Volume) string {
			return fmt.Sprintf("kubectl get serviceaccount %s -n %s -o yaml; az identity list --query \"[].{name:name, clientId:clientId, principalId:principalId}\"", sa, ns)
		}},
	{"Check the federated credential against the cluster's OIDC issuer and the ServiceAccount's subject", []string{"federated credential", "token exchange"},
		func(_, _, _, _ string, v Volume) string {
			id := "IDENTITY"
			if v.Identity != nil {
				id = v.Identity.Name + " -g " + v.Identity.ResourceGroup
			}
			return "az aks show -g RG -n CLUSTER --query oidcIssuerProfile.issuerUrl -o tsv; az identity federated-credential list --identity-name " + id
		}},
	{"Check Key Vault access for the identity: permission model, role assignments or access policies", []string{"vault"},
		func(_, _, _, _ string, v Volume) string {
			if v.Vault == nil {
				return "az keyvault show --name VAULT --query properties.enableRbacAuthorization"
			}
			who := v.Caller.ObjectID
			if who == "" && v.Identity != nil {
				who = v.Identity.PrincipalID
			}
			if who == "" {
				who = "PRINCIPAL_ID"
			}
			if v.Vault.RBAC() {
				return fmt.Sprintf("az role assignment list --assignee %s --scope %s --include-inherited", who, v.Vault.ID)
			}
			return fmt.Sprintf("az keyvault show --name %s --query \"properties.accessPolicies[?objectId=='%s']\"", v.Vault.Name, who)
		}},
	{"Check each object: permission on it and that it exists in the vault", []string{"object "},
		func(_, _, _, _ string, v Volume) string {
			if v.Vault == nil {
				return "az keyvault secret list --vault-name VAULT --query [].name"
			}
			return fmt.Sprintf("az keyvault secret list --vault-name %s --query [].name; kubectl logs -n kube-system -l app=secrets-store-provider-azure", v.Vault.Name)
		}},
}

// Explain walks the seed's six debugging steps for every secrets-store
// volume of the pod, with what the snapshot shows at each.
func (r *Resolver) Explain(m Mount) []Explanation {
	var out []Explanation
	ns, name, sa := "", "", "default"
	if m.Pod != nil {
		ns, name = m.Pod.Namespace, m.Pod.Name
		if m.Pod.Spec.ServiceAccountName != "" {
			sa = m.Pod.Spec.ServiceAccountName
		}
	}
	for _, v := range m.Volumes {
		ex := Explanation{Pod: m.Ref, Volume: v.Name, Class: v.Class}
		for i, g := range debugGroups {
			ds := DebugStep{N: i + 1, Title: g.title, Command: g.cmd(ns, name, v.Class, sa, v), Status: StatusOK}
			matched := false
			for _, s := range v.Steps {
				if !inGroup(s.Name, g.steps) {
					continue
				}
				matched = true
				line := s.Name + ": " + string(s.Status)
				if s.Detail != "" {
					line += " — " + s.Detail
				}
				ds.Found = append(ds.Found, line)
				ds.Status = worse(ds.Status, s.Status)
				if s.Status == StatusFailed && ds.Error == "" {
					ds.Error, ds.Fix = s.Error, s.Fix
				}
			}
			if i == 0 {
				if v.Status == StatusFailed {
					ds.Found = append(ds.Found, "Warning FailedMount: "+v.Event)
					ds.Status = StatusFailed
				} else {
					ds.Found = append(ds.Found, "no FailedMount event: the volume mounts")
				}
			}
			if !matched && i > 0 {
				ds.Status = StatusSkipped
			}
			ex.Steps = append(ex.Steps, ds)
		}
		// The cause is the first failing step after the symptom (step 1),
		// or step 1 itself when the driver refuses the volume.
		for _, ds := range append(ex.Steps[1:], ex.Steps[0]) {
			if ds.Status == StatusFailed && ds.Error != "" {
				ex.Cause = fmt.Sprintf("step %d: %s", ds.N, strings.TrimSuffix(debugGroups[ds.N-1].title, "?"))
				break
			}
		}
		out = append(out, ex)
	}
	return out
}

func inGroup(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if name == p || strings.HasSuffix(p, " ") && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

var rank = map[Status]int{StatusOK: 0, StatusSkipped: 1, StatusUnknown: 2, StatusFailed: 3}

func worse(a, b Status) Status {
	if rank[b] > rank[a] {
		return b
	}
	return a
}

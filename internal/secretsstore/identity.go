package secretsstore

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/keyvault"
	"github.com/akssec/akssec/internal/source"
	"github.com/akssec/akssec/internal/workloadid"
)

// identitySteps adds the identity, federated credential and token exchange
// steps for the class's identity mode and sets the volume's caller.
func (r *Resolver) identitySteps(b *volumeBuilder, pod *env.Pod, vol *corev1.Volume, saName string, sa *env.Item[corev1.ServiceAccount], p *Parameters, cloud Cloud) {
	ns := pod.Namespace
	switch p.Mode {
	case ModeWorkloadIdentity, ModeAzureTokenProxy:
		r.workloadIdentitySteps(b, pod, vol, saName, sa, p, cloud)
	case ModeVMManagedID:
		st := Step{Name: "identity"}
		cid := p.UserAssignedIdentityID
		if cid == "" {
			st.Status = StatusUnknown
			st.Detail = "useVMManagedIdentity without userAssignedIdentityID: the node pool's system-assigned identity (not in the snapshot); every pod on the node can use it"
			b.add(st)
			return
		}
		id := r.fed.Identity(cid)
		which := r.vmss[strings.ToLower(cid)]
		switch {
		case which != "":
			st.Status = StatusOK
			st.Detail = fmt.Sprintf("user-assigned identity %s (%s), assigned to the node pool VMSS; requested from IMDS, so every pod on the node can use it", cid, which)
		case id != nil:
			st.Status = StatusUnknown
			st.Detail = fmt.Sprintf("user-assigned identity %s (client %s) must be assigned to the node pool VMSS (not in the snapshot); every pod on the node can use it", id.Name, cid)
		default:
			err := "ManagedIdentityCredential authentication failed. the requested identity isn't assigned to this resource"
			st.Error = err
			st.Fix = "set userAssignedIdentityID to the client ID of an identity assigned to the node pool (az aks show --query addonProfiles.azureKeyvaultSecretsProvider.identity.clientId)"
			b.fail(st, mountEvent(vol.Name, ns, pod.Name, "failed to get keyvault client: "+err))
			return
		}
		if id != nil {
			st.Evidence = []source.Location{id.Src}
			b.v.Identity = id
			b.v.Caller = keyvault.Caller{ObjectID: id.PrincipalID, TenantID: id.TenantID, ApplicationID: id.ClientID}
		} else if u := r.vmssIdentity(cid); u != nil {
			b.v.Caller = keyvault.Caller{ObjectID: u.ObjectID, TenantID: r.fed.Tenant(), ApplicationID: u.ClientID}
		}
		b.add(st)
	case ModePodIdentity:
		st := Step{Name: "identity", Status: StatusUnknown}
		st.Fix = "migrate to workload identity: aad-pod-identity is deprecated (azwi podidentity detect)"
		binding, id := r.podID.lookup(pod)
		switch {
		case id != nil:
			st.Status = StatusOK
			st.Detail = fmt.Sprintf("aad-pod-identity (deprecated): pod label aadpodidbinding=%s → AzureIdentityBinding %s → identity client %s, fetched by NMI", pod.Labels["aadpodidbinding"], binding, id.ClientID)
			st.Evidence = []source.Location{id.Src}
			b.v.Identity = id
			b.v.Caller = keyvault.Caller{ObjectID: id.PrincipalID, TenantID: id.TenantID, ApplicationID: id.ClientID}
		case binding != "":
			st.Detail = fmt.Sprintf("aad-pod-identity (deprecated): binding %s names an identity that is not in the snapshot", binding)
		default:
			st.Status = StatusFailed
			st.Error = "failed to get keyvault client: nmi response failed with status code: 404, response body: getting assigned identities for pod " + ns + "/" + pod.Name + " in CREATED state failed after 16 attempts, retry duration [5]s, error: <nil>. Check MIC pod logs for identity assignment errors"
			st.Detail = "usePodIdentity: no AzureIdentityBinding selects the pod's aadpodidbinding label"
			b.fail(st, mountEvent(vol.Name, ns, pod.Name, st.Error))
			return
		}
		b.add(st)
	case ModeServicePrincipal:
		b.add(Step{Name: "identity", Status: StatusUnknown,
			Detail: fmt.Sprintf("service principal credentials from Secret %s/%s (keys clientid, clientsecret); values are never in a snapshot", ns, vol.CSI.NodePublishSecretRef.Name),
			Fix:    "prefer workload identity: a client secret in a Kubernetes Secret can be read by anyone who can read Secrets in " + ns})
	}
}

func (r *Resolver) vmssIdentity(clientID string) *azure.UserIdentity {
	c := r.e.Cluster
	if c == nil {
		return nil
	}
	if k := c.KubeletIdentity(); k != nil && strings.EqualFold(k.ClientID, clientID) {
		return k
	}
	for _, a := range c.AddonProfiles {
		if a != nil && a.Identity != nil && strings.EqualFold(a.Identity.ClientID, clientID) {
			return a.Identity
		}
	}
	return nil
}

func (r *Resolver) workloadIdentitySteps(b *volumeBuilder, pod *env.Pod, vol *corev1.Volume, saName string, sa *env.Item[corev1.ServiceAccount], p *Parameters, cloud Cloud) {
	ns := pod.Namespace
	subject := workloadid.Subject(ns, saName)
	audience := workloadid.TokenExchangeAudience
	if p.Mode == ModeAzureTokenProxy {
		audience = "api://AKSIdentityBinding"
	}
	idStep := Step{Name: "identity"}
	id := r.fed.Identity(p.ClientID)
	if id == nil {
		ae := workloadid.ApplicationNotFound(p.ClientID, p.TenantID)
		idStep.Error = ae.Description()
		idStep.Detail = fmt.Sprintf("clientID %s names no managed identity of the snapshot", p.ClientID)
		idStep.Fix = "set parameters.clientID to the client ID of the managed identity the vault trusts (az identity show -g RG -n NAME --query clientId -o tsv)"
		if cands := r.identitiesFederatedWith(subject); len(cands) > 0 {
			idStep.Fix += fmt.Sprintf("; %s is federated with %s: clientID %s", cands[0].Name, subject, cands[0].ClientID)
		}
		b.fail(idStep, mountEvent(vol.Name, ns, pod.Name, workloadError(p, cloud, ae)))
		b.add(Step{Name: "federated credential"})
		b.add(Step{Name: "token exchange"})
		return
	}
	idStep.Status = StatusOK
	idStep.Evidence = []source.Location{id.Src}
	idStep.Detail = fmt.Sprintf("managed identity %s (client %s, principal %s)", id.Name, id.ClientID, id.PrincipalID)
	if sa != nil {
		if ann := sa.Obj.Annotations[workloadid.AnnotationClientID]; ann != "" && !strings.EqualFold(ann, p.ClientID) {
			idStep.Detail += fmt.Sprintf("; note: the ServiceAccount's client-id annotation (%s) differs, and the CSI driver uses the class's clientID", ann)
		}
	}
	if !strings.EqualFold(id.TenantID, p.TenantID) && id.TenantID != "" {
		ae := workloadid.ApplicationNotFound(p.ClientID, p.TenantID)
		idStep.Status = StatusFailed
		idStep.Error = ae.Description()
		idStep.Fix = fmt.Sprintf("set parameters.tenantID to %s, the identity's tenant", id.TenantID)
		b.fail(idStep, mountEvent(vol.Name, ns, pod.Name, workloadError(p, cloud, ae)))
		return
	}
	b.add(idStep)
	b.v.Identity = id

	issuer := r.fed.Issuer()
	ficStep := Step{Name: "federated credential"}
	fics := r.fed.Credentials(id)
	for _, f := range fics {
		ficStep.Evidence = append(ficStep.Evidence, f.Src)
	}
	if c := r.e.Cluster; c != nil && issuer == "" {
		ficStep.Error = "the cluster's OIDC issuer is not enabled: its service account tokens cannot be federated"
		ficStep.Fix = fmt.Sprintf("az aks update -g %s -n %s --enable-oidc-issuer --enable-workload-identity", c.ResourceGroup, c.Name)
		b.fail(ficStep, mountEvent(vol.Name, ns, pod.Name, "failed to get objectType:secret: "+ficStep.Error))
		b.add(Step{Name: "token exchange"})
		return
	}
	assumed := false
	if issuer == "" {
		// No aks.json: take the issuer of a credential naming the subject.
		for _, f := range fics {
			if f.Subject == subject {
				issuer, assumed = f.Issuer, true
				break
			}
		}
	}
	res, err := r.fed.Exchange(p.ClientID, issuer, subject, []string{audience})
	var ae *workloadid.AADSTSError
	if err != nil && errors.As(err, &ae) {
		ficStep.Error = ae.Description()
		ficStep.Detail = describeFICs(fics, issuer, subject)
		ficStep.Fix = ficFix(ae.Code, id, fics, issuer, subject, audience)
		b.fail(ficStep, mountEvent(vol.Name, ns, pod.Name, workloadError(p, cloud, ae)))
		b.add(Step{Name: "token exchange", Error: tokenError(cloud.ActiveDirectoryEndpoint, p.TenantID, ae), Status: StatusFailed})
		return
	}
	ficStep.Status = StatusOK
	ficStep.Evidence = []source.Location{res.Credential.Src}
	ficStep.Detail = fmt.Sprintf("%s: issuer %s, subject %s, audience %s", res.Credential.Name, res.Credential.Issuer, res.Credential.Subject, audience)
	if assumed {
		ficStep.Status = StatusUnknown
		ficStep.Detail += " (the cluster's issuer is unknown without azure/aks.json; assumed equal)"
	}
	b.add(ficStep)
	b.add(Step{Name: "token exchange", Status: StatusOK,
		Detail: fmt.Sprintf("Entra issues a token for %s: oid=%s, appid=%s, tid=%s, audience https://vault.azure.net", id.Name, res.ObjectID, res.ClientID, res.TenantID)})
	b.v.Identity = id
	b.v.Caller = keyvault.Caller{ObjectID: res.ObjectID, TenantID: res.TenantID, ApplicationID: res.ClientID}
}

// workloadError is the provider error for a failed token exchange: the
// first object's Get fails with the credential's error.
func workloadError(p *Parameters, cloud Cloud, ae *workloadid.AADSTSError) string {
	prefix := ""
	if len(p.Objects) > 0 {
		prefix = WrapObjectError(errors.New("x"), p.Objects[0]).Error()
		prefix = strings.TrimSuffix(prefix, "x")
	}
	return prefix + tokenError(cloud.ActiveDirectoryEndpoint, p.TenantID, ae)
}

func (r *Resolver) identitiesFederatedWith(subject string) []*azure.Identity {
	var out []*azure.Identity
	for _, bd := range r.fed.Bindings() {
		if workloadid.Subject(bd.Namespace, bd.ServiceAccount) == subject {
			out = append(out, bd.Identity)
		}
	}
	return out
}

func describeFICs(fics []*azure.FederatedCredential, issuer, subject string) string {
	if len(fics) == 0 {
		return "the identity has no federated credential"
	}
	var parts []string
	for _, f := range fics {
		var diffs []string
		if f.Issuer != issuer {
			d := fmt.Sprintf("issuer %q ≠ token issuer %q", f.Issuer, issuer)
			if strings.TrimSuffix(f.Issuer, "/") == strings.TrimSuffix(issuer, "/") {
				d += " (trailing slash)"
			}
			diffs = append(diffs, d)
		}
		if f.Subject != subject {
			diffs = append(diffs, fmt.Sprintf("subject %q ≠ %q", f.Subject, subject))
		}
		if len(diffs) == 0 {
			diffs = append(diffs, fmt.Sprintf("audiences %v", f.Audiences))
		}
		parts = append(parts, f.Name+": "+strings.Join(diffs, ", "))
	}
	return strings.Join(parts, "; ")
}

func ficFix(code int, id *azure.Identity, fics []*azure.FederatedCredential, issuer, subject, audience string) string {
	switch code {
	case workloadid.CodeIssuerMismatch:
		for _, f := range fics {
			if f.Subject == subject {
				return fmt.Sprintf("az identity federated-credential update --name %s --identity-name %s --resource-group %s --issuer %q --subject %s --audiences %s  (the issuer must equal the cluster's oidcIssuerProfile.issuerUrl exactly, trailing slash included)",
					f.Name, id.Name, id.ResourceGroup, issuer, subject, audience)
			}
		}
	case workloadid.CodeAudienceMismatch:
		for _, f := range fics {
			if f.Subject == subject {
				return fmt.Sprintf("az identity federated-credential update --name %s --identity-name %s --resource-group %s --issuer %q --subject %s --audiences %s", f.Name, id.Name, id.ResourceGroup, f.Issuer, subject, audience)
			}
		}
	case workloadid.CodeSubjectCaseMismatch:
		return fmt.Sprintf("subjects match case-sensitively: set the federated credential's subject to exactly %s", subject)
	}
	return fmt.Sprintf("az identity federated-credential create --name %s --identity-name %s --resource-group %s --issuer %q --subject %s --audiences %s",
		ficName(subject), id.Name, id.ResourceGroup, issuer, subject, audience)
}

func ficName(subject string) string {
	ns, sa, _ := workloadid.ParseSubject(subject)
	n := ns + "-" + sa
	if len(n) > 120 {
		n = n[:120]
	}
	return n
}

// podIdentityIndex resolves aad-pod-identity bindings: a pod's
// aadpodidbinding label selects AzureIdentityBindings, which name an
// AzureIdentity with a clientID.
type podIdentityIndex struct {
	bindings map[string][]podIDBinding // ns → bindings
	fed      *workloadid.Federation
}

type podIDBinding struct{ name, selector, identityClientID string }

func newPodIdentityIndex(e *env.Environment, fed *workloadid.Federation) *podIdentityIndex {
	ix := &podIdentityIndex{bindings: map[string][]podIDBinding{}, fed: fed}
	identities := map[string]string{} // ns/name → clientID
	type rawBinding struct{ ns, name, selector, identity string }
	var raws []rawBinding
	for _, o := range e.Unknown {
		if o.Group != "aadpodidentity.k8s.io" {
			continue
		}
		u, ok := o.Typed.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		switch o.Kind {
		case "AzureIdentity":
			cid, _, _ := unstructured.NestedString(u.Object, "spec", "clientID")
			identities[o.Namespace+"/"+o.Name] = cid
		case "AzureIdentityBinding":
			sel, _, _ := unstructured.NestedString(u.Object, "spec", "selector")
			idn, _, _ := unstructured.NestedString(u.Object, "spec", "azureIdentity")
			raws = append(raws, rawBinding{o.Namespace, o.Name, sel, idn})
		}
	}
	for _, rb := range raws {
		ix.bindings[rb.ns] = append(ix.bindings[rb.ns], podIDBinding{rb.name, rb.selector, identities[rb.ns+"/"+rb.identity]})
	}
	for _, bs := range ix.bindings {
		sort.Slice(bs, func(i, j int) bool { return bs[i].name < bs[j].name })
	}
	return ix
}

func (ix *podIdentityIndex) lookup(pod *env.Pod) (binding string, id *azure.Identity) {
	sel := pod.Labels["aadpodidbinding"]
	if sel == "" {
		return "", nil
	}
	for _, b := range ix.bindings[pod.Namespace] {
		if b.selector == sel {
			return b.name, ix.fed.Identity(b.identityClientID)
		}
	}
	return "", nil
}

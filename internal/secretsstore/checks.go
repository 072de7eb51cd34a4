package secretsstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/source"
	"github.com/akssec/akssec/internal/workloadid"
)

// The rules of the workload identity and Key Vault layer.
var (
	RuleSANotLabelled = finding.Rule{ID: "AKS-WI-001", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "ServiceAccount is annotated for workload identity but its pod is not labelled azure.workload.identity/use"}
	RulePodNoClientID = finding.Rule{ID: "AKS-WI-002", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "Pod is labelled for workload identity but its ServiceAccount has no client-id annotation"}
	RuleIssuerMismatch = finding.Rule{ID: "AKS-WI-003", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "Federated credential's issuer differs from the cluster's OIDC issuer (AADSTS700211)"}
	RuleClientIDUnknown = finding.Rule{ID: "AKS-WI-004", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "ServiceAccount's client-id names no managed identity (AADSTS700016)"}
	RuleNoFederation = finding.Rule{ID: "AKS-WI-005", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "No federated credential names the ServiceAccount (AADSTS700213)"}
	RuleAudienceMismatch = finding.Rule{ID: "AKS-WI-006", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "Federated credential's audience is not api://AzureADTokenExchange (AADSTS700212)"}
	RuleWebhookRejects = finding.Rule{ID: "AKS-WI-007", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "The workload identity webhook rejects the pod"}
	RulePodIdentity = finding.Rule{ID: "AKS-WI-008", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "Deprecated AAD pod identity is in use"}
	RuleProxySidecar = finding.Rule{ID: "AKS-WI-009", Layer: finding.LayerSecrets, Severity: finding.Low,
		Title: "Workload identity proxy sidecar adds a privileged root init container"}
	RuleNodeIdentity = finding.Rule{ID: "AKS-WI-011", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "An identity every pod can use through IMDS (kubelet or add-on) holds broad Azure rights"}
	RuleWIDisabled = finding.Rule{ID: "AKS-WI-010", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "Workload identity is used but the cluster's OIDC issuer or workload identity is off"}

	RuleSPCClientID = finding.Rule{ID: "AKS-KV-001", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "SecretProviderClass clientID matches no managed identity (AADSTS700016)"}
	RuleNoVaultPermission = finding.Rule{ID: "AKS-KV-002", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "Identity lacks Key Vault permission for a mounted object (403)"}
	RuleMountFails = finding.Rule{ID: "AKS-KV-003", Layer: finding.LayerSecrets, Severity: finding.High,
		Title: "Secrets-store volume fails to mount"}
	RuleOverBroad = finding.Rule{ID: "AKS-KV-004", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "Managed identity has broader Key Vault rights than reading its secrets"}
	RuleAccessPolicies = finding.Rule{ID: "AKS-KV-005", Layer: finding.LayerSecrets, Severity: finding.Low,
		Title: "Key Vault still uses access policies instead of Azure RBAC"}
	RuleRotationOff = finding.Rule{ID: "AKS-KV-006", Layer: finding.LayerSecrets, Severity: finding.Low,
		Title: "Secrets Store CSI driver rotation is off"}
	RuleSynced = finding.Rule{ID: "AKS-KV-007", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "Key Vault secret is synced into a Kubernetes Secret"}
	RuleVMIdentity = finding.Rule{ID: "AKS-KV-008", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "SecretProviderClass uses the node's managed identity, which every pod on the node can use"}
	RuleSPSecret = finding.Rule{ID: "AKS-KV-009", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "SecretProviderClass authenticates with a service principal secret stored in Kubernetes"}
	RuleSyncedRef = finding.Rule{ID: "AKS-KV-010", Layer: finding.LayerSecrets, Severity: finding.Medium,
		Title: "Pod references a synced Secret without mounting the SecretProviderClass that creates it"}
	RulePurgeProtection = finding.Rule{ID: "AKS-KV-011", Layer: finding.LayerSecrets, Severity: finding.Low,
		Title: "Key Vault purge protection is off"}
)

// Rules returns the layer's rules.
func Rules() []finding.Rule {
	return []finding.Rule{RuleSANotLabelled, RulePodNoClientID, RuleIssuerMismatch, RuleClientIDUnknown, RuleNoFederation,
		RuleAudienceMismatch, RuleWebhookRejects, RulePodIdentity, RuleProxySidecar, RuleWIDisabled, RuleNodeIdentity,
		RuleSPCClientID, RuleNoVaultPermission, RuleMountFails, RuleOverBroad, RuleAccessPolicies, RuleRotationOff,
		RuleSynced, RuleVMIdentity, RuleSPSecret, RuleSyncedRef, RulePurgeProtection}
}

func podObj(p *env.Pod) finding.Object {
	if p.Synthesized && p.Workload != nil {
		return finding.Object{Kind: p.Workload.Kind, Namespace: p.Namespace, Name: p.Workload.Name}
	}
	return finding.Object{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
}

func ev(loc source.Location, format string, args ...any) finding.Evidence {
	return finding.Evidence{Loc: loc, Text: fmt.Sprintf(format, args...)}
}

// Check returns every finding of the workload identity and Key Vault layer.
func Check(ctx context.Context, e *env.Environment) []finding.Finding {
	return New(e).Check(ctx)
}

// Check returns the layer's findings on the Resolver's Environment.
func (r *Resolver) Check(ctx context.Context) []finding.Finding {
	var out []finding.Finding
	out = append(out, r.checkWorkloadIdentity()...)
	if ctx.Err() != nil {
		return out
	}
	out = append(out, r.checkClasses()...)
	out = append(out, r.checkMounts(ctx)...)
	out = append(out, r.checkVaults()...)
	out = append(out, r.checkNodeIdentities()...)
	finding.Sort(out)
	return out
}

func saOf(p *corev1.Pod) string {
	if p.Spec.ServiceAccountName == "" {
		return "default"
	}
	return p.Spec.ServiceAccountName
}

func (r *Resolver) checkWorkloadIdentity() []finding.Finding {
	e := r.e
	var out []finding.Finding
	haveIdentities := len(e.Azure.Identities) > 0
	issuer := r.fed.Issuer()
	cluster := e.Cluster
	wiOff := cluster != nil && (issuer == "" || cluster.SecurityProfile == nil || cluster.SecurityProfile.WorkloadIdentity == nil || !cluster.SecurityProfile.WorkloadIdentity.Enabled)
	reportedWIOff := false
	cfg := workloadid.WebhookConfig{TenantID: r.fed.Tenant()}
	for _, p := range e.Pods {
		sa := r.sa[p.Namespace+"/"+saOf(p.Pod)]
		labelled, _ := workloadid.Selected(p.Pod)
		var cid string
		if sa != nil {
			cid = sa.Obj.Annotations[workloadid.AnnotationClientID]
		}
		switch {
		case labelled && sa != nil && cid == "":
			out = append(out, RulePodNoClientID.New(podObj(p), p.Loc,
				fmt.Sprintf("%s is labelled %s: \"true\" but ServiceAccount %s has no %s annotation, so the webhook injects no AZURE_CLIENT_ID and the Azure SDK fails with \"no client ID specified. Check pod configuration or set ClientID in the options\"", p.Ref(), workloadid.LabelUse, saOf(p.Pod), workloadid.AnnotationClientID),
				fmt.Sprintf("kubectl annotate serviceaccount %s -n %s %s=<identity client ID>", saOf(p.Pod), p.Namespace, workloadid.AnnotationClientID),
				ev(p.Loc, "label %s: \"true\"", workloadid.LabelUse), ev(sa.Loc, "ServiceAccount %s/%s without %s", p.Namespace, sa.Obj.Name, workloadid.AnnotationClientID)))
		case !labelled && cid != "" && p.Namespace != "kube-system":
			out = append(out, RuleSANotLabelled.New(podObj(p), p.Loc,
				fmt.Sprintf("ServiceAccount %s is annotated with client-id %s but %s lacks the label %s: \"true\", so the webhook never sees the pod: no AZURE_* variables, no projected token", saOf(p.Pod), cid, p.Ref(), workloadid.LabelUse),
				fmt.Sprintf("add the label %s: \"true\" to the pod (template) metadata", workloadid.LabelUse),
				ev(sa.Loc, "%s: %s", workloadid.AnnotationClientID, cid), ev(p.Loc, "pod labels without %s", workloadid.LabelUse)))
		}
		if labelled {
			if wiOff && !reportedWIOff {
				reportedWIOff = true
				out = append(out, RuleWIDisabled.New(finding.Object{Kind: "ManagedCluster", Name: cluster.Name}, cluster.Src,
					fmt.Sprintf("pods are labelled for workload identity (first: %s) but the cluster's OIDC issuer or workload identity add-on is off: no webhook mutates them and no token can be federated", p.Ref()),
					fmt.Sprintf("az aks update -g %s -n %s --enable-oidc-issuer --enable-workload-identity", cluster.ResourceGroup, cluster.Name),
					ev(cluster.Src, "oidcIssuerProfile / securityProfile.workloadIdentity"), ev(p.Loc, "label %s", workloadid.LabelUse)))
			}
			// A pod whose ServiceAccount is missing is refused earlier by the
			// ServiceAccount admission plugin, not by this webhook.
			if sa != nil {
				if _, _, err := workloadid.Mutate(p.Pod, sa.Obj, cfg); err != nil {
					out = append(out, RuleWebhookRejects.New(podObj(p), p.Loc, fmt.Sprintf("creating %s fails: %s", p.Ref(), err),
						"fix the annotation named in the error (token expiration 3600..86400 seconds; no proxy sidecar on hostNetwork pods; an integer proxy port)",
						ev(p.Loc, "pod")))
				}
			}
			if _, ok := p.Annotations[workloadid.AnnotationInjectProxySidecar]; ok {
				out = append(out, RuleProxySidecar.New(podObj(p), p.Loc,
					fmt.Sprintf("%s asks for the azwi proxy sidecar: the webhook adds init container %s, privileged, running as root with NET_ADMIN", p.Ref(), workloadid.ProxyInitContainerName),
					"move the application to an Azure SDK that supports workload identity and drop the inject-proxy-sidecar annotation",
					ev(p.Loc, "annotation %s", workloadid.AnnotationInjectProxySidecar)))
			}
		}
		if p.Labels["aadpodidbinding"] != "" {
			out = append(out, RulePodIdentity.New(podObj(p), p.Loc,
				fmt.Sprintf("%s uses aad-pod-identity (label aadpodidbinding=%s), deprecated since 2022 and unsupported on AKS; any pod can request any identity on its node through NMI", p.Ref(), p.Labels["aadpodidbinding"]),
				"migrate to workload identity (azwi podidentity detect) and remove the aadpodidbinding label", ev(p.Loc, "label aadpodidbinding")))
		}
	}
	// ServiceAccounts annotated with a client ID: identity, federation.
	for i := range e.ServiceAccounts {
		sa := &e.ServiceAccounts[i]
		cid := sa.Obj.Annotations[workloadid.AnnotationClientID]
		if cid == "" || !haveIdentities {
			continue
		}
		obj := finding.Object{Kind: "ServiceAccount", Namespace: sa.Obj.Namespace, Name: sa.Obj.Name}
		id := r.fed.Identity(cid)
		if id == nil {
			ae := workloadid.ApplicationNotFound(cid, r.fed.Tenant())
			fix := "set the annotation to the client ID of an existing managed identity"
			if c := r.identitiesFederatedWith(workloadid.Subject(sa.Obj.Namespace, sa.Obj.Name)); len(c) > 0 {
				fix = fmt.Sprintf("kubectl annotate serviceaccount %s -n %s --overwrite %s=%s  (%s is federated with it)", sa.Obj.Name, sa.Obj.Namespace, workloadid.AnnotationClientID, c[0].ClientID, c[0].Name)
			}
			out = append(out, RuleClientIDUnknown.New(obj, sa.Loc, fmt.Sprintf("client-id %s names no managed identity of the snapshot; the token exchange fails with %s", cid, ae.Description()), fix,
				ev(sa.Loc, "%s: %s", workloadid.AnnotationClientID, cid)))
			continue
		}
		out = append(out, r.federationFindings(obj, sa.Loc, sa.Obj.Namespace, sa.Obj.Name, id)...)
	}
	// Federated credentials naming a ServiceAccount of this cluster with a
	// near-miss issuer or a wrong audience.
	if issuer != "" {
		for _, id := range r.fed.Identities() {
			for _, c := range r.fed.Credentials(id) {
				ns, saName, ok := workloadid.ParseSubject(c.Subject)
				if !ok || r.sa[ns+"/"+saName] == nil {
					continue
				}
				obj := finding.Object{Kind: "FederatedIdentityCredential", Namespace: ns, Name: id.Name + "/" + c.Name}
				if c.Issuer != issuer && strings.EqualFold(strings.TrimSuffix(c.Issuer, "/"), strings.TrimSuffix(issuer, "/")) && !r.saUses(ns, saName, id) {
					out = append(out, RuleIssuerMismatch.New(obj, c.Src, issuerReason(c, issuer), ficFix(workloadid.CodeIssuerMismatch, id, []*azure.FederatedCredential{c}, issuer, c.Subject, workloadid.TokenExchangeAudience),
						ev(c.Src, "issuer %q", c.Issuer), ev(r.e.Cluster.Src, "oidcIssuerProfile.issuerUrl %q", issuer)))
				}
				if c.Issuer == issuer && !hasAudience(c) && !r.saUses(ns, saName, id) {
					out = append(out, RuleAudienceMismatch.New(obj, c.Src,
						fmt.Sprintf("federated credential %s of %s has audiences %v; tokens for %s carry %s, so the exchange fails with AADSTS700212", c.Name, id.Name, c.Audiences, c.Subject, workloadid.TokenExchangeAudience),
						ficFix(workloadid.CodeAudienceMismatch, id, []*azure.FederatedCredential{c}, issuer, c.Subject, workloadid.TokenExchangeAudience), ev(c.Src, "audiences %v", c.Audiences)))
				}
			}
		}
	}
	// aad-pod-identity objects.
	for _, o := range e.Unknown {
		if o.Group == "aadpodidentity.k8s.io" && (o.Kind == "AzureIdentity" || o.Kind == "AzureIdentityBinding") {
			out = append(out, RulePodIdentity.New(finding.Object{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}, o.Loc,
				fmt.Sprintf("%s %s/%s belongs to aad-pod-identity, deprecated and unsupported on AKS", o.Kind, o.Namespace, o.Name),
				"migrate to workload identity (azwi podidentity detect) and uninstall aad-pod-identity", ev(o.Loc, "%s", o.Kind)))
		}
	}
	return out
}

// saUses reports whether the ServiceAccount is annotated with the identity,
// in which case federationFindings already reports the mismatch.
func (r *Resolver) saUses(ns, sa string, id *azure.Identity) bool {
	it := r.sa[ns+"/"+sa]
	return it != nil && strings.EqualFold(it.Obj.Annotations[workloadid.AnnotationClientID], id.ClientID)
}

func hasAudience(c *azure.FederatedCredential) bool {
	for _, a := range c.Audiences {
		if a == workloadid.TokenExchangeAudience {
			return true
		}
	}
	return false
}

func issuerReason(c *azure.FederatedCredential, issuer string) string {
	d := ""
	if strings.TrimSuffix(c.Issuer, "/") == strings.TrimSuffix(issuer, "/") {
		d = " (they differ only by the trailing slash)"
	} else if strings.EqualFold(c.Issuer, issuer) {
		d = " (they differ only in case)"
	}
	return fmt.Sprintf("federated credential %s has issuer %q but the cluster's tokens carry %q%s; Entra compares them exactly and fails the exchange with AADSTS700211: No matching federated identity record found for presented assertion issuer '%s'", c.Name, c.Issuer, issuer, d, issuer)
}

// federationFindings checks that an identity can be exchanged for the
// ServiceAccount's token.
func (r *Resolver) federationFindings(obj finding.Object, loc source.Location, ns, saName string, id *azure.Identity) []finding.Finding {
	issuer := r.fed.Issuer()
	subject := workloadid.Subject(ns, saName)
	if issuer == "" {
		return nil
	}
	_, err := r.fed.Exchange(id.ClientID, issuer, subject, []string{workloadid.TokenExchangeAudience})
	var ae *workloadid.AADSTSError
	if err == nil || !errors.As(err, &ae) {
		return nil
	}
	fics := r.fed.Credentials(id)
	evs := []finding.Evidence{ev(loc, "ServiceAccount %s/%s → %s", ns, saName, id.Name)}
	for _, c := range fics {
		evs = append(evs, ev(c.Src, "%s: issuer %q subject %q audiences %v", c.Name, c.Issuer, c.Subject, c.Audiences))
	}
	fix := ficFix(ae.Code, id, fics, issuer, subject, workloadid.TokenExchangeAudience)
	reason := fmt.Sprintf("tokens of %s cannot be exchanged for %s: %s", subject, id.Name, ae.Description())
	switch ae.Code {
	case workloadid.CodeIssuerMismatch:
		for _, c := range fics {
			if c.Subject == subject {
				reason = issuerReason(c, issuer)
				obj = finding.Object{Kind: "FederatedIdentityCredential", Namespace: ns, Name: id.Name + "/" + c.Name}
				loc = c.Src
			}
		}
		if loc.File == "" || obj.Kind == "ServiceAccount" {
			return []finding.Finding{RuleNoFederation.New(obj, loc, reason, fix, evs...)}
		}
		return []finding.Finding{RuleIssuerMismatch.New(obj, loc, reason, fix, evs...)}
	case workloadid.CodeAudienceMismatch:
		return []finding.Finding{RuleAudienceMismatch.New(obj, loc, reason, fix, evs...)}
	}
	return []finding.Finding{RuleNoFederation.New(obj, loc, reason, fix, evs...)}
}

func (r *Resolver) checkClasses() []finding.Finding {
	var out []finding.Finding
	haveIdentities := len(r.e.Azure.Identities) > 0
	for i := range r.e.SecretProviderClasses {
		it := &r.e.SecretProviderClasses[i]
		spc := it.Obj
		if spc.Spec.Provider != "azure" {
			continue
		}
		obj := finding.Object{Kind: "SecretProviderClass", Namespace: spc.Namespace, Name: spc.Name}
		pc := r.classes[spc.Namespace+"/"+spc.Name]
		p := pc.paramS
		if p == nil {
			continue
		}
		switch {
		case p.UsePodIdentity:
			out = append(out, RulePodIdentity.New(obj, it.Loc, fmt.Sprintf("SecretProviderClass %s/%s sets usePodIdentity: \"true\"; aad-pod-identity is deprecated and unsupported on AKS", spc.Namespace, spc.Name),
				"use workload identity: set clientID to a managed identity federated with the pod's ServiceAccount and remove usePodIdentity", ev(it.Loc, "usePodIdentity")))
		case p.UseVMManagedIdentity:
			who := "the node pool's system-assigned identity"
			if p.UserAssignedIdentityID != "" {
				who = "identity " + p.UserAssignedIdentityID
				if w := r.vmss[strings.ToLower(p.UserAssignedIdentityID)]; w != "" {
					who += " (" + w + ")"
				}
			}
			out = append(out, RuleVMIdentity.New(obj, it.Loc, fmt.Sprintf("SecretProviderClass %s/%s authenticates as %s through IMDS: every pod scheduled on those nodes can request the same token and read the same secrets", spc.Namespace, spc.Name, who),
				"use workload identity (clientID) so that only pods of one ServiceAccount become the identity", ev(it.Loc, "useVMManagedIdentity: \"true\"")))
		case p.Mode == ModeWorkloadIdentity && haveIdentities && r.fed.Identity(p.ClientID) == nil:
			ae := workloadid.ApplicationNotFound(p.ClientID, p.TenantID)
			out = append(out, RuleSPCClientID.New(obj, it.Loc, fmt.Sprintf("clientID %s of SecretProviderClass %s/%s names no managed identity; every mount fails with %s", p.ClientID, spc.Namespace, spc.Name, ae.Description()),
				"set parameters.clientID to the client ID of the managed identity the vault trusts (az identity show -g RG -n NAME --query clientId -o tsv)",
				ev(it.Loc, "clientID: %s", p.ClientID)))
		}
		for _, so := range spc.Spec.SecretObjects {
			if so == nil {
				continue
			}
			keys := []string{}
			for _, d := range so.Data {
				if d != nil {
					keys = append(keys, d.Key)
				}
			}
			out = append(out, RuleSynced.New(obj, it.Loc,
				fmt.Sprintf("SecretProviderClass %s/%s copies Key Vault objects into Kubernetes Secret %s (keys %s) while a pod mounts it: anyone who may get Secrets in %s reads them without Key Vault's authorization or audit", spc.Namespace, spc.Name, so.SecretName, strings.Join(keys, ", "), spc.Namespace),
				"mount the files instead of syncing, or restrict get/list/watch on Secrets in the namespace", ev(it.Loc, "secretObjects: %s", so.SecretName)))
		}
	}
	// Pods that reference a synced Secret without mounting its class.
	synced := map[string]string{} // ns/secretName → class
	for i := range r.e.SecretProviderClasses {
		spc := r.e.SecretProviderClasses[i].Obj
		for _, so := range spc.Spec.SecretObjects {
			if so != nil && so.SecretName != "" {
				synced[spc.Namespace+"/"+so.SecretName] = spc.Name
			}
		}
	}
	if len(synced) > 0 {
		for _, p := range r.e.Pods {
			mounted := map[string]bool{}
			for _, v := range SecretsStoreVolumes(p.Pod) {
				mounted[v.CSI.VolumeAttributes["secretProviderClass"]] = true
			}
			for _, name := range secretRefs(p.Pod) {
				class, ok := synced[p.Namespace+"/"+name]
				if !ok || mounted[class] {
					continue
				}
				out = append(out, RuleSyncedRef.New(podObj(p), p.Loc,
					fmt.Sprintf("%s reads Secret %s, which the CSI driver creates from SecretProviderClass %s only while a pod mounts it; %s does not mount it, so it starts only if another pod does (else CreateContainerConfigError: secret %q not found)", p.Ref(), name, class, p.Ref(), name),
					fmt.Sprintf("add a csi volume (driver %s, secretProviderClass %s) to the pod and mount it", Driver, class), ev(p.Loc, "reference to Secret %s", name)))
			}
		}
	}
	return out
}

// secretRefs are the Secrets a pod's environment names.
func secretRefs(p *corev1.Pod) []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					add(e.ValueFrom.SecretKeyRef.Name)
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					add(ef.SecretRef.Name)
				}
			}
		}
	}
	return out
}

func (r *Resolver) checkMounts(ctx context.Context) []finding.Finding {
	var out []finding.Finding
	for i, p := range r.e.Pods {
		if i%256 == 0 && ctx.Err() != nil {
			return out
		}
		vols := SecretsStoreVolumes(p.Pod)
		if len(vols) == 0 {
			continue
		}
		m := r.Resolve(p)
		for _, v := range m.Volumes {
			for _, s := range v.Steps {
				if s.Name == "secret provider class" && s.Status == StatusOK && v.Mode == ModeServicePrincipal {
					out = append(out, RuleSPSecret.New(podObj(p), p.Loc, fmt.Sprintf("volume %s of %s authenticates with a service principal's client secret kept in a Kubernetes Secret (nodePublishSecretRef)", v.Name, p.Ref()),
						"use workload identity (clientID) instead of a client secret", ev(p.Loc, "nodePublishSecretRef")))
				}
			}
			if v.Status != StatusFailed {
				continue
			}
			var failed Step
			for _, s := range v.Steps {
				if s.Status == StatusFailed {
					failed = s
					break
				}
			}
			evs := []finding.Evidence{ev(p.Loc, "volume %s, SecretProviderClass %s", v.Name, v.Class)}
			for _, l := range failed.Evidence {
				evs = append(evs, ev(l, "%s", failed.Name))
			}
			evs = append(evs, finding.Evidence{Loc: p.Loc, Text: "event: " + v.Event})
			switch {
			case strings.HasPrefix(failed.Name, "object ") && strings.Contains(failed.Error, "RESPONSE 403") && (strings.Contains(failed.Error, "AccessDenied") || strings.Contains(failed.Error, "ForbiddenBy")):
				id := "the caller"
				if v.Identity != nil {
					id = v.Identity.Name
				}
				out = append(out, RuleNoVaultPermission.New(podObj(p), p.Loc,
					fmt.Sprintf("%s cannot mount volume %s: Key Vault refuses %s the %s (403)", p.Ref(), v.Name, id, failed.Name), failed.Fix, evs...))
			case failed.Name == "identity" && strings.Contains(failed.Error, "AADSTS700016") && r.classes[p.Namespace+"/"+v.Class] != nil:
				// reported on the SecretProviderClass (AKS-KV-001)
			default:
				out = append(out, RuleMountFails.New(podObj(p), p.Loc,
					fmt.Sprintf("%s cannot mount volume %s: step %q fails: %s", p.Ref(), v.Name, failed.Name, summarizeError(failed.Error)), failed.Fix, evs...))
			}
		}
	}
	return out
}

// summarizeError shortens a multi-line error (azcore's response layout) to
// its first line, status, error code and message.
func summarizeError(s string) string {
	lines := strings.Split(s, "\n")
	out := strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "RESPONSE "):
			out += " " + l
		case strings.HasPrefix(l, `"code": "`), strings.HasPrefix(l, `"error_description": "`), strings.HasPrefix(l, `"message": "`):
			out += " " + strings.TrimSuffix(l, ",")
		}
	}
	return out
}

// secretsUserActions are what reading a secret needs; anything more is
// over-broad for a workload.
var secretsUserActions = []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"}

func (r *Resolver) checkVaults() []finding.Finding {
	var out []finding.Finding
	e := r.e
	for _, v := range e.Azure.Vaults {
		obj := finding.Object{Kind: "KeyVault", Name: v.Name}
		if !v.RBAC() {
			out = append(out, RuleAccessPolicies.New(obj, v.Src,
				fmt.Sprintf("vault %s authorizes with access policies: they are vault-wide only (no per-secret scope), and anyone with Contributor on the vault can grant themselves data access by editing them", v.Name),
				fmt.Sprintf("migrate to Azure RBAC: grant Key Vault Secrets User per identity, then az keyvault update --name %s --enable-rbac-authorization true", v.Name),
				ev(v.Src, "enableRbacAuthorization: false")))
		}
		if v.Properties.EnablePurgeProtection == nil || !*v.Properties.EnablePurgeProtection {
			out = append(out, RulePurgeProtection.New(obj, v.Src, fmt.Sprintf("vault %s has purge protection off: a deleted secret can be purged before its retention ends", v.Name),
				fmt.Sprintf("az keyvault update --name %s --enable-purge-protection true", v.Name), ev(v.Src, "enablePurgeProtection")))
		}
		// over-broad rights of managed identities
		for _, id := range e.Azure.Identities {
			if v.RBAC() {
				for _, a := range r.kv.Roles().For(id.PrincipalID) {
					d := azrole.DefinitionOf(a)
					above := azrole.ScopeContains(a.Scope, v.ID)
					below := azrole.ScopeContains(v.ID, a.Scope)
					if d == nil || !(above || below) {
						continue
					}
					broad := ""
					for _, op := range []string{"Microsoft.KeyVault/vaults/secrets/setSecret/action", "Microsoft.KeyVault/vaults/secrets/delete", "Microsoft.KeyVault/vaults/secrets/purge/action", "Microsoft.KeyVault/vaults/keys/read"} {
						if d.AllowsDataAction(op) {
							broad = fmt.Sprintf("role %s grants %s", d.Name, op)
							break
						}
					}
					if broad == "" && d.AllowsDataAction(secretsUserActions[0]) && above && !below {
						broad = fmt.Sprintf("role %s is assigned at %s, above the vault, so it reads every vault there", d.Name, a.Scope)
					}
					if broad == "" {
						continue
					}
					out = append(out, RuleOverBroad.New(finding.Object{Kind: "ManagedIdentity", Name: id.Name}, a.Src,
						fmt.Sprintf("managed identity %s on vault %s: %s; a workload needs Key Vault Secrets User on the vault or on its secrets", id.Name, v.Name, broad),
						fmt.Sprintf("az role assignment delete --ids %s; az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id %s --assignee-principal-type ServicePrincipal --scope %s", a.ID, id.PrincipalID, v.ID),
						ev(a.Src, "%s at %s", d.Name, a.Scope)))
				}
				continue
			}
			for _, ap := range v.Properties.AccessPolicies {
				if !strings.EqualFold(ap.ObjectID, id.PrincipalID) {
					continue
				}
				var extra []string
				for _, perm := range ap.Permissions.Secrets {
					if !strings.EqualFold(perm, "get") {
						extra = append(extra, perm)
					}
				}
				if len(ap.Permissions.Keys)+len(ap.Permissions.Certificates)+len(ap.Permissions.Storage) > 0 {
					extra = append(extra, "key/certificate/storage permissions")
				}
				if len(extra) == 0 {
					continue
				}
				sort.Strings(extra)
				out = append(out, RuleOverBroad.New(finding.Object{Kind: "ManagedIdentity", Name: id.Name}, v.Src,
					fmt.Sprintf("managed identity %s has access-policy permissions %s on vault %s (list enumerates every secret name; all includes set, delete and purge); a workload needs secrets get only", id.Name, strings.Join(extra, ", "), v.Name),
					fmt.Sprintf("az keyvault set-policy --name %s --object-id %s --secret-permissions get  (then remove the others: az keyvault delete-policy, set-policy with get only)", v.Name, id.PrincipalID),
					ev(v.Src, "access policy for %s: secrets %v", id.PrincipalID, ap.Permissions.Secrets)))
			}
		}
	}
	if c := e.Cluster; c != nil {
		if a := c.Addon("azureKeyvaultSecretsProvider"); a != nil && a.Enabled && !strings.EqualFold(a.Config["enableSecretRotation"], "true") {
			out = append(out, RuleRotationOff.New(finding.Object{Kind: "ManagedCluster", Name: c.Name}, c.Src,
				"the azure-keyvault-secrets-provider add-on runs without secret rotation: mounted files and synced Secrets keep the value of the pod's start until it restarts",
				fmt.Sprintf("az aks addon update -g %s -n %s --addon azure-keyvault-secrets-provider --enable-secret-rotation", c.ResourceGroup, c.Name),
				ev(c.Src, "addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation: %q", a.Config["enableSecretRotation"])))
		}
	}
	return out
}

// checkNodeIdentities flags the kubelet and add-on identities, which any pod
// on a node can get tokens for from IMDS (169.254.169.254) unless egress to
// it is blocked, when they hold more than pulling images: write access in
// Azure, or Key Vault data.
func (r *Resolver) checkNodeIdentities() []finding.Finding {
	c := r.e.Cluster
	if c == nil {
		return nil
	}
	type nodeID struct{ what, objectID string }
	var ids []nodeID
	if k := c.KubeletIdentity(); k != nil && k.ObjectID != "" {
		ids = append(ids, nodeID{"kubelet identity", k.ObjectID})
	}
	names := make([]string, 0, len(c.AddonProfiles))
	for n := range c.AddonProfiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if a := c.AddonProfiles[n]; a != nil && a.Enabled && a.Identity != nil && a.Identity.ObjectID != "" {
			ids = append(ids, nodeID{n + " add-on identity", a.Identity.ObjectID})
		}
	}
	var out []finding.Finding
	for _, id := range ids {
		for _, a := range r.kv.Roles().For(id.objectID) {
			d := azrole.DefinitionOf(a)
			if d == nil {
				continue
			}
			var power string
			switch {
			case d.AllowsAction("Microsoft.Authorization/roleAssignments/write"):
				power = "can assign roles"
			case d.AllowsAction("Microsoft.Compute/virtualMachines/write") || d.AllowsAction("Microsoft.KeyVault/vaults/write") || d.AllowsAction("Microsoft.Resources/deployments/write") && d.AllowsAction("Microsoft.Storage/storageAccounts/write"):
				power = "can write resources"
			case d.AllowsDataAction("Microsoft.KeyVault/vaults/secrets/getSecret/action"):
				power = "can read Key Vault secrets"
			default:
				continue
			}
			out = append(out, RuleNodeIdentity.New(finding.Object{Kind: "ManagedCluster", Name: c.Name + "/" + id.what}, a.Src,
				fmt.Sprintf("the %s (%s) has %s at %s, so it %s; every pod on the nodes can obtain its token from IMDS", id.what, id.objectID, d.Name, a.Scope, power),
				"give workloads their own identities through workload identity, scope the node identity to AcrPull, and block pod egress to 169.254.169.254 where pods need no IMDS",
				ev(a.Src, "%s at %s", d.Name, a.Scope), ev(c.Src, "%s %s", id.what, id.objectID)))
		}
	}
	return out
}

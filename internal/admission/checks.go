package admission

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"k8s.io/pod-security-admission/api"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/source"
)

// The admission layer's rules.
var (
	RuleNoPSAEnforce = finding.Rule{ID: "AKS-PSA-001", Layer: finding.LayerPodSecurity, Severity: finding.Medium,
		Title: "Namespace without a Pod Security Admission enforce label"}
	RulePSADeniesExisting = finding.Rule{ID: "AKS-PSA-002", Layer: finding.LayerPodSecurity, Severity: finding.High,
		Title: "Pod or workload that Pod Security Admission would deny at its next creation"}
	RuleInvalidPSALabel = finding.Rule{ID: "AKS-PSA-003", Layer: finding.LayerPodSecurity, Severity: finding.Medium,
		Title: "Invalid Pod Security Admission namespace label"}
	RuleAuditWhereDeny = finding.Rule{ID: "AKS-POL-001", Layer: finding.LayerPodSecurity, Severity: finding.Medium,
		Title: "Azure Policy assignment only audits where Deny is recommended"}
	RulePolicyDeniesExisting = finding.Rule{ID: "AKS-POL-002", Layer: finding.LayerPodSecurity, Severity: finding.High,
		Title: "Pod or workload that a Gatekeeper or Azure Policy constraint would deny at its next creation"}
	RuleInitiativeDrift = finding.Rule{ID: "AKS-POL-003", Layer: finding.LayerPodSecurity, Severity: finding.Medium,
		Title: "Azure pod security initiative is weaker than the Pod Security Standard of the same name"}
	RuleRejectedPolicy = finding.Rule{ID: "AKS-POL-004", Layer: finding.LayerPodSecurity, Severity: finding.Low,
		Title: "ConstraintTemplate or constraint that Gatekeeper would reject"}
	RuleImageRegex = finding.Rule{ID: "AKS-IMG-001", Layer: finding.LayerImages, Severity: finding.High,
		Title: "Allowed-images regex is unanchored or over-broad"}
	RuleImageDenied = finding.Rule{ID: "AKS-IMG-002", Layer: finding.LayerImages, Severity: finding.High,
		Title: "Container image from a registry the allowed-images policy does not allow"}
)

// Rules are the admission layer's rules.
func Rules() []finding.Rule {
	return []finding.Rule{RuleNoPSAEnforce, RulePSADeniesExisting, RuleInvalidPSALabel, RuleAuditWhereDeny,
		RulePolicyDeniesExisting, RuleInitiativeDrift, RuleRejectedPolicy, RuleImageRegex, RuleImageDenied}
}

// systemNamespaces are managed by AKS and its add-ons: no PSA finding.
func systemNamespace(ns string) bool {
	switch ns {
	case "kube-system", "kube-public", "kube-node-lease", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system", "calico-system", "tigera-operator", "app-routing-system", "aks-command":
		return true
	}
	return false
}

// Check returns every admission finding of the snapshot.
func Check(ctx context.Context, e *env.Environment) []finding.Finding {
	a, err := New(ctx, e)
	if err != nil {
		return []finding.Finding{RuleRejectedPolicy.New(finding.Object{Kind: "Snapshot", Name: e.Snapshot.Dir}, source.Location{}, "the admission policies could not be prepared: "+err.Error(), "fix the templates or inventory named in the error")}
	}
	return a.Check(ctx)
}

// Check returns the findings of a prepared Admitter.
func (a *Admitter) Check(ctx context.Context) []finding.Finding {
	verdicts := a.podVerdicts(ctx)
	var out []finding.Finding
	out = append(out, a.checkPSALabels()...)
	out = append(out, a.checkExisting(verdicts)...)
	out = append(out, a.checkAssignments(verdicts)...)
	out = append(out, a.checkImageRegexes()...)
	out = append(out, a.checkDrift(verdicts)...)
	for _, p := range a.gk.Problems() {
		out = append(out, RuleRejectedPolicy.New(finding.Object{Kind: strings.SplitN(p.Object, "/", 2)[0], Name: lastPart(p.Object)}, p.Loc,
			"Gatekeeper would reject this: "+p.Message, "fix the template or constraint; until then it enforces nothing"))
	}
	finding.Sort(out)
	return out
}

func lastPart(s string) string {
	if i := strings.Index(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (a *Admitter) checkPSALabels() []finding.Finding {
	var out []finding.Finding
	for _, ns := range a.env.Namespaces {
		name := ns.Obj.Name
		if systemNamespace(name) {
			continue
		}
		pol, _, errs := a.psa.PolicyFor(name)
		obj := finding.Object{Kind: "Namespace", Name: name}
		for _, e := range errs {
			out = append(out, RuleInvalidPSALabel.New(obj, ns.Loc, "Pod Security Admission cannot read a label: "+e+" (an invalid enforce level fails closed to restricted:latest, an invalid audit or warn level fails open to privileged)",
				"use one of privileged, baseline, restricted and a version like latest or v1.37"))
		}
		if _, set := ns.Obj.Labels[api.EnforceLevelLabel]; set && pol.Enforce.Level != api.LevelPrivileged {
			continue
		}
		var pods []string
		level := api.LevelRestricted
		for _, p := range a.env.PodsIn(name) {
			pods = append(pods, p.Ref())
			if l := a.psa.StrictestLevel(p.Pod); api.CompareLevels(l, level) < 0 {
				level = l
			}
		}
		reason := fmt.Sprintf("namespace %s has no Pod Security Admission enforce label: any pod, privileged included, is admitted", name)
		if set := ns.Obj.Labels[api.EnforceLevelLabel]; set != "" {
			reason = fmt.Sprintf("namespace %s enforces the privileged level: any pod is admitted", name)
		}
		ev := []finding.Evidence{{Loc: ns.Loc, Text: fmt.Sprintf("labels: %s", psaLabels(ns.Obj.Labels))}}
		if len(pods) > 0 {
			ev = append(ev, finding.Evidence{Loc: ns.Loc, Text: fmt.Sprintf("the strictest level its %d pod(s) pass is %s: %s", len(pods), level, strings.Join(pods, ", "))})
		} else {
			ev = append(ev, finding.Evidence{Loc: ns.Loc, Text: "no pods in the snapshot: restricted costs nothing today"})
		}
		fix := fmt.Sprintf("kubectl label namespace %s pod-security.kubernetes.io/enforce=%s pod-security.kubernetes.io/enforce-version=latest pod-security.kubernetes.io/warn=restricted", name, level)
		if level == api.LevelPrivileged {
			fix = fmt.Sprintf("fix the pods that need privileges, then kubectl label namespace %s pod-security.kubernetes.io/enforce=baseline; meanwhile label warn=restricted and audit=restricted to see what breaks", name)
		}
		out = append(out, RuleNoPSAEnforce.New(obj, ns.Loc, reason, fix, ev...))
	}
	return out
}

func psaLabels(l map[string]string) string {
	var parts []string
	for k, v := range l {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "no pod-security.kubernetes.io labels"
	}
	return strings.Join(parts, ", ")
}

// podVerdicts decides every pod of the snapshot (bare pods, and the pods
// workloads create) as if created now, in parallel; system namespaces and
// pods that fail to evaluate have no verdict.
func (a *Admitter) podVerdicts(ctx context.Context) map[*env.Pod]*Verdict {
	pods := a.env.Pods
	res := make([]*Verdict, len(pods))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if v, err := a.AdmitPod(ctx, pods[i].Pod); err == nil {
					res[i] = v
				}
			}
		}()
	}
	for i, p := range pods {
		if !systemNamespace(p.Namespace) {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	out := make(map[*env.Pod]*Verdict, len(pods))
	for i, v := range res {
		if v != nil {
			out[pods[i]] = v
		}
	}
	return out
}

func (a *Admitter) checkExisting(verdicts map[*env.Pod]*Verdict) []finding.Finding {
	var out []finding.Finding
	for _, p := range a.env.Pods {
		v := verdicts[p]
		if v == nil {
			continue
		}
		obj := finding.Object{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
		what := fmt.Sprintf("pod %s/%s is running, but", p.Namespace, p.Name)
		if p.Synthesized && p.Workload != nil {
			obj = finding.Object{Kind: p.Workload.Kind, Namespace: p.Namespace, Name: p.Workload.Name}
			what = fmt.Sprintf("the %s is admitted, but its pods", p.Workload.Kind)
		} else if p.Workload != nil {
			what = fmt.Sprintf("pod %s/%s (of %s %s) is running, but", p.Namespace, p.Name, p.Workload.Kind, p.Workload.Name)
		}
		byLayer := map[string][]Denial{}
		for _, d := range v.Denials {
			byLayer[d.Layer] = append(byLayer[d.Layer], d)
		}
		if ds := byLayer[LayerPodSecurity]; len(ds) > 0 {
			ev := denialEvidence(p.Loc, ds)
			out = append(out, RulePSADeniesExisting.New(obj, p.Loc,
				fmt.Sprintf("%s would be denied at the next creation by Pod Security Admission %q: %s", what, ds[0].Policy, v.PodSecurity.Message),
				uniqueFixes(ds), ev...))
		}
		var pol, img []Denial
		for _, d := range append(byLayer[LayerGatekeeper], byLayer[LayerAzurePolicy]...) {
			if strings.HasSuffix(d.Field, ".image") && strings.Contains(d.Template, "allowedimages") {
				img = append(img, d)
			} else {
				pol = append(pol, d)
			}
		}
		if len(pol) > 0 {
			out = append(out, RulePolicyDeniesExisting.New(obj, p.Loc,
				fmt.Sprintf("%s would be denied at the next creation by %s", what, policies(pol)), uniqueFixes(pol), denialEvidence(p.Loc, pol)...))
		}
		if len(img) > 0 {
			out = append(out, RuleImageDenied.New(obj, p.Loc,
				fmt.Sprintf("%s would be denied at the next creation: %s", what, img[0].Message), uniqueFixes(img), denialEvidence(p.Loc, img)...))
		}
	}
	return out
}

func denialEvidence(loc source.Location, ds []Denial) []finding.Evidence {
	var ev []finding.Evidence
	for _, d := range ds {
		t := d.Message
		if d.Field != "" {
			t = d.Field + ": " + t
		}
		if d.Layer == LayerAzurePolicy || d.Layer == LayerGatekeeper {
			t = fmt.Sprintf("%s (constraint %s): %s", d.Policy, d.Constraint, t)
		}
		ev = append(ev, finding.Evidence{Loc: loc, Text: t})
	}
	return ev
}

func uniqueFixes(ds []Denial) string {
	var fixes []string
	for _, d := range ds {
		if d.Fix != "" {
			fixes = appendOnce(fixes, d.Fix)
		}
	}
	return strings.Join(fixes, "; ")
}

func policies(ds []Denial) string {
	var ps []string
	for _, d := range ds {
		s := d.Policy
		if d.Layer == LayerAzurePolicy {
			s = fmt.Sprintf("Azure Policy %q", d.Policy)
		}
		ps = appendOnce(ps, s)
	}
	return strings.Join(ps, ", ")
}

func (a *Admitter) checkAssignments(verdicts map[*env.Pod]*Verdict) []finding.Finding {
	if a.azure == nil {
		return nil
	}
	var out []finding.Finding
	for _, c := range a.azure.Constraints {
		if c.Definition.Recommended != "Deny" || c.EnforcementAction == gatekeeper.ActionDeny {
			continue
		}
		obj := finding.Object{Kind: "PolicyAssignment", Name: c.DisplayName()}
		why := fmt.Sprintf("effect %s", c.Effect)
		if c.DoNotEnforce {
			why = "effect Deny but enforcementMode DoNotEnforce"
		}
		reason := fmt.Sprintf("Azure Policy %q is assigned with %s: violations are only reported (constraint %s, enforcementAction dryrun), nothing is denied", c.DisplayName(), why, c.Name())
		ev := []finding.Evidence{{Loc: c.Assignment.Src, Text: "assignment " + c.Assignment.ID}}
		var violators []string
		for _, p := range a.env.Pods {
			v := verdicts[p]
			if v == nil {
				continue
			}
			for _, d := range v.Audit {
				if d.Constraint == c.Name() {
					violators = appendOnce(violators, p.Ref())
				}
			}
		}
		if len(violators) > 0 {
			ev = append(ev, finding.Evidence{Loc: c.Assignment.Src, Text: fmt.Sprintf("%d pod(s) violate it today: %s", len(violators), strings.Join(violators, ", "))})
		}
		fix := fmt.Sprintf("az policy assignment update --name %s --scope %s --params '{\"effect\":{\"value\":\"Deny\"}}' (after fixing the violating pods)", c.Assignment.Name, c.Assignment.Scope)
		if c.DoNotEnforce {
			fix = fmt.Sprintf("az policy assignment update --name %s --scope %s --enforcement-mode Default", c.Assignment.Name, c.Assignment.Scope)
		}
		out = append(out, RuleAuditWhereDeny.New(obj, c.Assignment.Src, reason, fix, ev...))
	}
	return out
}

// RegexProbe is an image reference an allowed-images regex must not let
// through.
const RegexProbe = "evil.example/contoso.azurecr.io/x"

// CheckImageRegex tests an allowed-images regex the way OPA's re_match runs
// it (Go RE2, unanchored) against images that only look like allowed ones.
// It returns the probes that get through; samples are images the regex is
// meant to allow (from the snapshot).
func CheckImageRegex(re string, samples []string) (leaks []string, err error) {
	rx, err := regexp.Compile(re)
	if err != nil {
		return nil, err
	}
	probes := []string{RegexProbe, "evil.example/x"}
	for _, s := range samples {
		if !rx.MatchString(s) {
			continue
		}
		// One allowed image is enough to show each way around the regex.
		probes = append(probes, "evil.example/"+s)
		if i := strings.Index(s, "/"); i > 0 {
			host := s[:i]
			probes = append(probes, host+".evil.example"+s[i:])
			if j := strings.Index(host, "."); j > 0 {
				probes = append(probes, host[:j]+"x"+host[j+1:]+s[i:])
			}
		}
		break
	}
	for _, p := range probes {
		if rx.MatchString(p) {
			leaks = appendOnce(leaks, p)
		}
	}
	return leaks, nil
}

func (a *Admitter) checkImageRegexes() []finding.Finding {
	var samples []string
	for _, p := range a.env.Pods {
		for _, r := range containersOf(&p.Spec) {
			samples = appendOnce(samples, r.c.Image)
		}
	}
	sort.Strings(samples)
	var out []finding.Finding
	for _, c := range a.gk.Constraints() {
		if c.Template == nil || !strings.HasPrefix(c.Template.Annotations["akssec.io/azure-template"], "container-allowed-images/") {
			continue
		}
		re, _ := c.Parameters["imageRegex"].(string)
		obj := finding.Object{Kind: c.Kind, Name: c.Name}
		loc := c.Loc
		policy := "constraint " + c.Name
		if az := a.azureByID[c.Name]; az != nil {
			obj = finding.Object{Kind: "PolicyAssignment", Name: az.DisplayName()}
			policy = fmt.Sprintf("Azure Policy %q", az.DisplayName())
		}
		leaks, err := CheckImageRegex(re, samples)
		if err != nil {
			out = append(out, RuleImageRegex.New(obj, loc, fmt.Sprintf("the allowed-images regex %q of %s does not compile (%v): every container is denied", re, policy, err), "fix the regex"))
			continue
		}
		if len(leaks) == 0 {
			continue
		}
		reason := fmt.Sprintf("the allowed-images regex %q of %s is unanchored or over-broad: re_match (RE2, unanchored) lets %s through", re, policy, strings.Join(quoteAll(leaks), ", "))
		ev := []finding.Evidence{{Loc: loc, Text: fmt.Sprintf("imageRegex = %q (anchored: %v)", re, Anchored(re))}}
		for _, l := range leaks {
			ev = append(ev, finding.Evidence{Loc: loc, Text: fmt.Sprintf("re_match(%q, %q) is true", re, l)})
		}
		out = append(out, RuleImageRegex.New(obj, loc, reason,
			fmt.Sprintf("anchor the regex and escape the dots, e.g. %q", anchoredSuggestion(re)), ev...))
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// anchoredSuggestion turns "contoso.azurecr.io/.+" into
// "^contoso\.azurecr\.io/.+$".
func anchoredSuggestion(re string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$")
	if i := strings.Index(s, "/"); i > 0 {
		host := s[:i]
		if !strings.Contains(host, `\.`) {
			host = strings.ReplaceAll(host, ".", `\.`)
		}
		s = host + s[i:]
	}
	return "^" + s + "$"
}

// checkDrift compares the Azure pod security initiatives with the Pod
// Security Standard of the same name: pods of the snapshot that the
// initiative admits but the PSS level denies, in namespaces whose PSA enforce
// level does not cover the gap.
func (a *Admitter) checkDrift(verdicts map[*env.Pod]*Verdict) []finding.Finding {
	if a.azure == nil {
		return nil
	}
	levels := map[string]api.Level{
		"a8640138-9b0a-4a28-b8cb-1666c838647d": api.LevelBaseline,
		"42b8ef37-b724-4e24-bbc8-7a7708edfe00": api.LevelRestricted,
	}
	seen := map[string]bool{}
	var out []finding.Finding
	for _, c := range a.azure.Constraints {
		if c.Initiative == nil || seen[c.Assignment.ID] {
			continue
		}
		seen[c.Assignment.ID] = true
		level := levels[c.Initiative.ID]
		lv := api.LevelVersion{Level: level, Version: api.LatestVersion()}
		var ev []finding.Evidence
		for _, p := range a.env.Pods {
			if systemNamespace(p.Namespace) {
				continue
			}
			pol, _, _ := a.psa.PolicyFor(p.Namespace)
			if api.CompareLevels(pol.Enforce.Level, level) >= 0 {
				continue // PSA enforces the level there
			}
			ok, vs := a.psa.Check(lv, &p.ObjectMeta, &p.Spec)
			if ok {
				continue
			}
			v := verdicts[p]
			if v == nil {
				continue
			}
			deniedByInitiative := false
			for _, d := range v.Denials {
				if az := a.azureByID[d.Constraint]; az != nil && az.Assignment.ID == c.Assignment.ID {
					deniedByInitiative = true
				}
			}
			if deniedByInitiative {
				continue
			}
			var why []string
			for _, x := range vs {
				why = append(why, x.Reason+" ("+x.Detail+")")
			}
			ev = append(ev, finding.Evidence{Loc: p.Loc, Text: fmt.Sprintf("%s: PSS %s denies it (%s), the initiative admits it", p.Ref(), level, strings.Join(why, ", "))})
		}
		gap := "the baseline initiative allows NET_RAW, which PSS baseline forbids, and checks none of procMount, seccomp Unconfined, sysctls, SELinux, AppArmor, Windows hostProcess or probe hosts"
		if level == api.LevelRestricted {
			gap = "the restricted initiative does not require dropping ALL capabilities and allows the docker/default seccomp profile; it also inherits the baseline gaps (NET_RAW, procMount, sysctls, SELinux, AppArmor)"
		}
		reason := fmt.Sprintf("Azure Policy %q (%s) is weaker than Pod Security Standard %s: %s", c.Assignment.DisplayName, c.Initiative.DisplayName, level, gap)
		if len(ev) == 0 {
			ev = []finding.Evidence{{Loc: c.Assignment.Src, Text: "no pod of the snapshot falls in the gap today"}}
		}
		obj := finding.Object{Kind: "PolicyAssignment", Name: displayName(c.Assignment.DisplayName, c.Assignment.Name)}
		out = append(out, RuleInitiativeDrift.New(obj, c.Assignment.Src, reason,
			fmt.Sprintf("label the namespaces pod-security.kubernetes.io/enforce=%s: Pod Security Admission enforces the standard itself", level), ev...))
	}
	return out
}

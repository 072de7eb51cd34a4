package admission

import (
	"context"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/source"
)

// Explanation walks the debugging steps of a denied object: the namespace's
// PSA labels and what they resolve to, each constraint involved with its
// template and the Azure assignment and effect behind it, and for allowed
// images the regex, each container's image and whether it matches.
type Explanation struct {
	Verdict     *Verdict         `json:"verdict"`
	Namespace   NamespaceInfo    `json:"namespace"`
	Constraints []ConstraintInfo `json:"constraints"`
	Images      []ImageCheck     `json:"images,omitempty"`
}

// NamespaceInfo is the namespace's Pod Security Admission setup.
type NamespaceInfo struct {
	Name   string            `json:"name"`
	Known  bool              `json:"known"`
	Labels map[string]string `json:"labels"` // pod-security.kubernetes.io/* only
	// Enforce, Audit and Warn are the effective level:version per mode.
	Enforce string   `json:"enforce"`
	Audit   string   `json:"audit"`
	Warn    string   `json:"warn"`
	Errors  []string `json:"errors,omitempty"`
}

// ConstraintInfo is a constraint that reported the object.
type ConstraintInfo struct {
	Name          string          `json:"name"`
	Kind          string          `json:"kind"`
	Template      string          `json:"template"`
	TemplateTitle string          `json:"templateTitle,omitempty"`
	Action        string          `json:"enforcementAction"`
	Loc           source.Location `json:"location"`
	Match         map[string]any  `json:"match,omitempty"`
	Parameters    map[string]any  `json:"parameters,omitempty"`
	Assignment    *AssignmentRef  `json:"assignment,omitempty"`
	Messages      []string        `json:"messages"`
}

// ImageCheck is one container against an allowed-images regex, tested with
// RE2 unanchored as OPA's re_match does.
type ImageCheck struct {
	Constraint string `json:"constraint"`
	Policy     string `json:"policy"`
	Regex      string `json:"regex"`
	Anchored   bool   `json:"anchored"`
	Container  string `json:"container"`
	// List is containers, initContainers or ephemeralContainers; Injected is
	// true for a container an admission plugin added.
	List     string `json:"list"`
	Injected bool   `json:"injected,omitempty"`
	Image    string `json:"image"`
	Allowed  bool   `json:"allowed"`
	// Matched is the part of the image the regex matched.
	Matched string `json:"matched,omitempty"`
}

// Explain decides the object and gathers what explains the answer.
func (a *Admitter) Explain(ctx context.Context, o *snapshot.Object) (*Explanation, error) {
	v, err := a.Admit(ctx, o)
	if err != nil {
		return nil, err
	}
	x := &Explanation{Verdict: v}
	ns := o.Namespace
	x.Namespace = a.namespaceInfo(ns)
	seen := map[string]*ConstraintInfo{}
	var order []string
	collect := func(vv *Verdict) {
		if vv == nil {
			return
		}
		for _, d := range append(append([]Denial{}, vv.Denials...), vv.Audit...) {
			if d.Constraint == "" {
				continue
			}
			ci := seen[d.Constraint]
			if ci == nil {
				ci = a.constraintInfo(d)
				seen[d.Constraint] = ci
				order = append(order, d.Constraint)
			}
			ci.Messages = appendOnce(ci.Messages, d.Message)
		}
	}
	collect(v)
	collect(v.Pods)
	for _, n := range order {
		x.Constraints = append(x.Constraints, *seen[n])
	}
	pod := v.Pod
	if v.Pods != nil {
		pod = v.Pods.Pod
	}
	if pod != nil {
		orig := map[string]bool{}
		if spec := specOf(o); spec != nil {
			for _, r := range containersOf(spec) {
				orig[r.c.Name] = true
			}
		}
		for _, c := range a.gk.Constraints() {
			if c.Template == nil || !strings.HasPrefix(c.Template.Annotations["akssec.io/azure-template"], "container-allowed-images/") {
				continue
			}
			re, _ := c.Parameters["imageRegex"].(string)
			policy := c.Kind + "/" + c.Name
			if az := a.azureByID[c.Name]; az != nil {
				policy = az.DisplayName()
			}
			rx, err := regexp.Compile(re)
			for _, r := range containersOf(&pod.Spec) {
				ic := ImageCheck{Constraint: c.Name, Policy: policy, Regex: re, Anchored: Anchored(re), Container: r.c.Name, List: listOf(r.field), Injected: !orig[r.c.Name], Image: r.c.Image}
				if err == nil {
					loc := rx.FindStringIndex(r.c.Image)
					ic.Allowed = loc != nil
					if loc != nil {
						ic.Matched = r.c.Image[loc[0]:loc[1]]
					}
				}
				x.Images = append(x.Images, ic)
			}
		}
	}
	return x, nil
}

// specOf is the pod spec the manifest itself declares (a pod's, or a
// workload's template): containers beyond it were injected by admission.
func specOf(o *snapshot.Object) *corev1.PodSpec {
	switch t := o.Typed.(type) {
	case *corev1.Pod:
		return &t.Spec
	case *appsv1.Deployment:
		return &t.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		return &t.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &t.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &t.Spec.Template.Spec
	case *batchv1.Job:
		return &t.Spec.Template.Spec
	case *batchv1.CronJob:
		return &t.Spec.JobTemplate.Spec.Template.Spec
	case *corev1.PodTemplate:
		return &t.Template.Spec
	case *corev1.ReplicationController:
		if t.Spec.Template != nil {
			return &t.Spec.Template.Spec
		}
	}
	return nil
}

func listOf(field string) string {
	return strings.TrimPrefix(field[:strings.Index(field, "[")], "spec.")
}

func (a *Admitter) namespaceInfo(ns string) NamespaceInfo {
	info := NamespaceInfo{Name: ns, Labels: map[string]string{}}
	if ns == "" {
		return info
	}
	pol, known, errs := a.psa.PolicyFor(ns)
	info.Known, info.Errors = known, errs
	info.Enforce, info.Audit, info.Warn = pol.Enforce.String(), pol.Audit.String(), pol.Warn.String()
	for k, v := range a.psa.Labels(ns) {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			info.Labels[k] = v
		}
	}
	return info
}

func (a *Admitter) constraintInfo(d Denial) *ConstraintInfo {
	ci := &ConstraintInfo{Name: d.Constraint, Template: d.Template, Assignment: d.Assignment, Action: d.Action}
	for _, c := range a.gk.Constraints() {
		if c.Name != d.Constraint {
			continue
		}
		ci.Kind, ci.Loc, ci.Parameters = c.Kind, c.Loc, c.Parameters
		ci.Action = c.Action
		if m, ok, _ := unstructured.NestedMap(c.Object.Object, "spec", "match"); ok {
			ci.Match = m
		}
		if c.Template != nil {
			ci.TemplateTitle = c.Template.Annotations["akssec.io/title"]
			if ci.TemplateTitle == "" {
				ci.TemplateTitle = c.Template.Annotations["metadata.gatekeeper.sh/title"]
			}
		}
	}
	return ci
}

// Anchored reports whether a regex can only match a whole image reference:
// it starts with ^ (or \A) and ends with $ (or \z).
func Anchored(re string) bool {
	return (strings.HasPrefix(re, "^") || strings.HasPrefix(re, `\A`)) && (strings.HasSuffix(re, "$") || strings.HasSuffix(re, `\z`)) && !strings.HasSuffix(re, `\$`)
}

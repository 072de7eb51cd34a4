// Package podsecurity decides Pod Security Admission as the Kubernetes API
// server does, with k8s.io/pod-security-admission (api + policy) as the
// engine of record: the namespace labels pod-security.kubernetes.io/
// enforce|audit|warn (and -version) resolved with api.PolicyToEvaluate over
// the cluster defaults, the exemptions (usernames, namespaces,
// runtimeClasses), enforce applied to Pods only, warn and audit also to the
// pod templates of workloads, and the exact message the API server returns
// (admission.go EvaluatePod, response.go forbiddenResponse).
//
// An Evaluator is prepared once from the namespaces of an Environment and is
// safe for concurrent use.
package podsecurity

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// Config is the API server's PodSecurityConfiguration: defaults for
// namespaces without labels, and exemptions.
type Config struct {
	Defaults   api.Policy
	Exemptions Exemptions
}

// Exemptions are the whole-request exemptions PSA supports (there is no
// per-pod or per-check exemption).
type Exemptions struct {
	Usernames      []string
	Namespaces     []string
	RuntimeClasses []string
}

// DefaultConfig is the API server's built-in configuration, which AKS does
// not change: privileged:latest for enforce, audit and warn, no exemptions.
func DefaultConfig() Config {
	lv := api.LevelVersion{Level: api.LevelPrivileged, Version: api.LatestVersion()}
	return Config{Defaults: api.Policy{Enforce: lv, Audit: lv, Warn: lv}}
}

// Evaluator decides PSA for pods and pod templates.
type Evaluator struct {
	eval     policy.Evaluator
	cfg      Config
	labels   map[string]map[string]string // namespace → labels (nil when the snapshot has no Namespace object)
	policies map[string]resolved          // namespace → its policy, resolved once
	defaults resolved                     // for namespaces the snapshot lacks
}

type resolved struct {
	pol  api.Policy
	errs []string
}

// New prepares an Evaluator over the namespaces of e with the default
// configuration.
func New(e *env.Environment) (*Evaluator, error) { return NewWithConfig(e, DefaultConfig()) }

// NewWithConfig prepares an Evaluator with an explicit configuration.
func NewWithConfig(e *env.Environment, cfg Config) (*Evaluator, error) {
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("preparing the pod security checks: %w", err)
	}
	p := &Evaluator{eval: ev, cfg: cfg, labels: map[string]map[string]string{}}
	if e != nil {
		for _, ns := range e.Namespaces {
			p.labels[ns.Obj.Name] = ns.Obj.Labels
		}
	}
	p.resolve()
	return p, nil
}

// resolve parses every namespace's labels once.
func (p *Evaluator) resolve() {
	p.policies = make(map[string]resolved, len(p.labels))
	for ns, l := range p.labels {
		p.policies[ns] = resolveLabels(l, p.cfg.Defaults)
	}
	p.defaults = resolveLabels(nil, p.cfg.Defaults)
}

func resolveLabels(l map[string]string, defaults api.Policy) resolved {
	pol, errs := api.PolicyToEvaluate(l, defaults)
	r := resolved{pol: pol}
	for _, e := range errs {
		r.errs = append(r.errs, e.Error())
	}
	return r
}

// Violation is one failed check: its reason and detail as the library
// words them, and the containers it names.
type Violation struct {
	Reason     string   `json:"reason"`
	Detail     string   `json:"detail,omitempty"`
	Containers []string `json:"containers,omitempty"`
}

// Exemption says why PSA skipped a request.
type Exemption string

// The exemptions.
const (
	NotExempt          Exemption = ""
	ExemptNamespace    Exemption = "namespace"
	ExemptUser         Exemption = "username"
	ExemptRuntimeClass Exemption = "runtimeClass"
)

// Result is PSA's answer for one request.
type Result struct {
	Namespace string `json:"namespace"`
	// Policy is the namespace's effective policy; PolicyErrors are label
	// parsing problems (an invalid enforce level fails closed to restricted).
	Policy       api.Policy `json:"-"`
	PolicyErrors []string   `json:"policyErrors,omitempty"`
	// NamespaceKnown is false when the snapshot has no Namespace object: the
	// defaults were applied.
	NamespaceKnown bool      `json:"namespaceKnown"`
	Exempt         Exemption `json:"exempt,omitempty"`
	// Enforced is true for Pods; pod controllers get warn and audit only.
	Enforced bool `json:"enforced"`
	Allowed  bool `json:"allowed"`
	// Message is the API server's error text when denied, e.g.
	// `pods "x" is forbidden: violates PodSecurity "restricted:latest": ...`.
	Message string `json:"message,omitempty"`
	// Warnings are what kubectl prints as "Warning: ...".
	Warnings []string `json:"warnings,omitempty"`
	// Audit is the pod-security.kubernetes.io/audit-violations annotation.
	Audit string `json:"audit,omitempty"`
	// Violations are the enforce-level failures (when denied), else the
	// warn-level ones.
	Violations []Violation `json:"violations,omitempty"`
}

// Request is one object to admit.
type Request struct {
	// Resource is the plural resource ("pods", "deployments", ...); Group
	// its API group.
	Group, Resource string
	Namespace, Name string
	Username        string
	Meta            *metav1.ObjectMeta
	Spec            *corev1.PodSpec
	// Controller is true for workloads (pod templates): enforce is skipped.
	Controller bool
}

// PolicyFor resolves a namespace's effective policy from its labels.
func (p *Evaluator) PolicyFor(namespace string) (api.Policy, bool, []string) {
	r, known := p.policies[namespace]
	if !known {
		r = p.defaults
	}
	return r.pol, known, r.errs
}

// Labels returns the namespace's labels as the snapshot holds them.
func (p *Evaluator) Labels(namespace string) map[string]string { return p.labels[namespace] }

// AdmitPod decides the creation of a pod as the API server does.
func (p *Evaluator) AdmitPod(pod *corev1.Pod) Result {
	name := pod.Name
	if name == "" {
		name = pod.GenerateName
	}
	return p.Admit(Request{Resource: "pods", Namespace: pod.Namespace, Name: name, Meta: &pod.ObjectMeta, Spec: &pod.Spec})
}

// Admit decides one request: ValidatePod for pods (enforce, audit, warn) and
// ValidatePodController for workloads (audit and warn only).
func (p *Evaluator) Admit(r Request) Result {
	res := Result{Namespace: r.Namespace, Allowed: true, Enforced: !r.Controller}
	if contains(p.cfg.Exemptions.Namespaces, r.Namespace) {
		res.Exempt = ExemptNamespace
		return res
	}
	if r.Username != "" && contains(p.cfg.Exemptions.Usernames, r.Username) {
		res.Exempt = ExemptUser
		return res
	}
	pol, known, errs := p.PolicyFor(r.Namespace)
	res.Policy, res.NamespaceKnown, res.PolicyErrors = pol, known, errs
	if r.Controller {
		if len(errs) == 0 && pol.Warn.Level == api.LevelPrivileged && pol.Audit.Level == api.LevelPrivileged {
			return res
		}
	} else if len(errs) == 0 && pol.FullyPrivileged() {
		return res
	}
	if r.Spec == nil {
		return res
	}
	if r.Spec.RuntimeClassName != nil && contains(p.cfg.Exemptions.RuntimeClasses, *r.Spec.RuntimeClassName) {
		res.Exempt = ExemptRuntimeClass
		return res
	}
	meta, spec := r.Meta, defaulted(r.Spec)
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	cache := map[api.LevelVersion]policy.AggregateCheckResult{}
	evalAt := func(lv api.LevelVersion) policy.AggregateCheckResult {
		if v, ok := cache[lv]; ok {
			return v
		}
		v := policy.AggregateCheckResults(p.eval.EvaluatePod(lv, meta, spec))
		cache[lv] = v
		return v
	}
	if !r.Controller {
		enf := evalAt(pol.Enforce)
		if !enf.Allowed {
			res.Allowed = false
			gr := schema.GroupResource{Group: r.Group, Resource: r.Resource}
			res.Message = apierrors.NewForbidden(gr, r.Name, fmt.Errorf("violates PodSecurity %q: %s", pol.Enforce.String(), enf.ForbiddenDetail())).Error()
			res.Violations = violations(enf)
		}
	}
	if a := evalAt(pol.Audit); !a.Allowed {
		res.Audit = fmt.Sprintf("would violate PodSecurity %q: %s", pol.Audit.String(), a.ForbiddenDetail())
	}
	if res.Allowed {
		if w := evalAt(pol.Warn); !w.Allowed {
			res.Warnings = append(res.Warnings, fmt.Sprintf("would violate PodSecurity %q: %s", pol.Warn.String(), w.ForbiddenDetail()))
			res.Violations = violations(w)
		}
	}
	return res
}

// Check evaluates one level and version, without namespaces.
func (p *Evaluator) Check(lv api.LevelVersion, meta *metav1.ObjectMeta, spec *corev1.PodSpec) (bool, []Violation) {
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	a := policy.AggregateCheckResults(p.eval.EvaluatePod(lv, meta, defaulted(spec)))
	return a.Allowed, violations(a)
}

// StrictestLevel returns the strictest level (at the latest version) the
// pods all pass: restricted, baseline or privileged.
func (p *Evaluator) StrictestLevel(pods ...*corev1.Pod) api.Level {
	level := api.LevelRestricted
	for _, pod := range pods {
		for level != api.LevelPrivileged {
			ok, _ := p.Check(api.LevelVersion{Level: level, Version: api.LatestVersion()}, &pod.ObjectMeta, &pod.Spec)
			if ok {
				break
			}
			if level == api.LevelRestricted {
				level = api.LevelBaseline
			} else {
				level = api.LevelPrivileged
			}
		}
	}
	return level
}

// defaulted applies SetDefaults_Volume (a volume without a source is an
// emptyDir) on a copy when needed: the library's restrictedVolumes check on
// an undefaulted object would reject what the API server admits.
func defaulted(spec *corev1.PodSpec) *corev1.PodSpec {
	for i := range spec.Volumes {
		if spec.Volumes[i].VolumeSource == (corev1.VolumeSource{}) {
			c := spec.DeepCopy()
			snapshot.DefaultPodSpec(c)
			return c
		}
	}
	return spec
}

func violations(a policy.AggregateCheckResult) []Violation {
	out := make([]Violation, 0, len(a.ForbiddenReasons))
	for i, r := range a.ForbiddenReasons {
		v := Violation{Reason: r, Detail: a.ForbiddenDetails[i]}
		v.Containers = containersIn(v.Detail)
		out = append(out, v)
	}
	return out
}

// containersIn reads the container names a check's detail lists: the
// library words them `container "a"` or `containers "a", "b" and "c"`.
func containersIn(detail string) []string {
	var out []string
	for rest := detail; ; {
		i := strings.Index(rest, "container")
		if i < 0 {
			break
		}
		rest = rest[i+len("container"):]
		rest = strings.TrimPrefix(rest, "s")
		for strings.HasPrefix(rest, " \"") {
			end := strings.IndexByte(rest[2:], '"')
			if end < 0 {
				break
			}
			name := rest[2 : 2+end]
			if !contains(out, name) {
				out = append(out, name)
			}
			rest = rest[2+end+1:]
			switch {
			case strings.HasPrefix(rest, ","):
				rest = rest[1:]
			case strings.HasPrefix(rest, " and"):
				rest = rest[4:]
			}
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// LabelsOf renders an effective policy for messages.
func LabelsOf(pol api.Policy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "enforce=%s, audit=%s, warn=%s", pol.Enforce, pol.Audit, pol.Warn)
	return b.String()
}

// Package admission decides whether objects would be admitted into the
// cluster a snapshot describes, layer by layer as the API server runs them:
// the ServiceAccount admission plugin's token mount (mutating), Pod Security
// Admission (podsecurity), then the Gatekeeper webhook with the snapshot's
// own constraints and the constraints the Azure Policy add-on makes from the
// policy assignments (gatekeeper, azurepolicy).
//
// Workloads are admitted as the API server admits them (PSA warn and audit
// only, Gatekeeper on the workload's own kind) and expanded to the pods their
// controllers will create, which are decided as pods: "the Deployment is
// admitted, its pods are denied by ...".
//
// An Admitter is prepared once (templates compiled, constraints matched in
// Go) and is safe for concurrent use.
package admission

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/azurepolicy"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/podsecurity"
	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/source"
)

// Layers of a denial.
const (
	LayerServiceAccount = "serviceaccount"
	LayerPodSecurity    = "pod-security"
	LayerGatekeeper     = "gatekeeper"
	LayerAzurePolicy    = "azure-policy"
	// LayerMutatingWebhook is a mutating webhook that rejected the pod.
	LayerMutatingWebhook = "mutating-webhook"
)

// Denial is one reason an object is denied (or warned, or audited).
type Denial struct {
	Layer string `json:"layer"`
	// Policy names what decided: the PSA level ("restricted:latest"), the
	// Gatekeeper constraint (Kind/name), or the Azure Policy assignment by
	// its display name.
	Policy    string `json:"policy"`
	Container string `json:"container,omitempty"`
	Field     string `json:"field,omitempty"`
	Message   string `json:"message"`
	// Constraint is the Gatekeeper constraint's name (for Azure, the hashed
	// name the add-on gives it); Template its ConstraintTemplate.
	Constraint string `json:"constraint,omitempty"`
	Template   string `json:"template,omitempty"`
	// Action is deny, warn or dryrun (audit only).
	Action string `json:"action"`
	Fix    string `json:"fix,omitempty"`
	// Assignment is the Azure Policy assignment behind the constraint.
	Assignment *AssignmentRef `json:"assignment,omitempty"`
}

// AssignmentRef names an Azure Policy assignment and how it was turned
// into a constraint.
type AssignmentRef struct {
	ID           string          `json:"id"`
	DisplayName  string          `json:"displayName"`
	Definition   string          `json:"definition"`
	Effect       string          `json:"effect"`
	DoNotEnforce bool            `json:"doNotEnforce,omitempty"`
	Loc          source.Location `json:"location"`
}

// Verdict is the answer for one object.
type Verdict struct {
	Kind      string          `json:"kind"`
	Namespace string          `json:"namespace,omitempty"`
	Name      string          `json:"name"`
	Loc       source.Location `json:"location"`
	Allowed   bool            `json:"allowed"`
	// Message is the error the API server returns for the first denying
	// layer (PSA runs before the webhooks, so its error wins).
	Message  string   `json:"message,omitempty"`
	Denials  []Denial `json:"denials"`
	Warnings []string `json:"warnings"`
	// Audit are violations that neither deny nor warn: dryrun constraints
	// and PSA audit.
	Audit []Denial `json:"audit,omitempty"`
	// Pods is the verdict of the pods a workload creates.
	Pods *Verdict `json:"pods,omitempty"`
	// PodSecurity is PSA's full answer (policy, labels, exemption).
	PodSecurity *podsecurity.Result `json:"podSecurity,omitempty"`
	Notes       []string            `json:"notes,omitempty"`
	// Pod is the pod as admitted (after the ServiceAccount plugin's mount),
	// for pods and the pods of workloads.
	Pod *corev1.Pod `json:"-"`
}

// Mutator is a mutating admission webhook the cluster runs before
// validation (e.g. the workload identity webhook, which can inject the
// azwi-proxy sidecar): it returns the mutated pod (the input must not be
// modified), the warnings it adds, or the error it rejects the pod with.
type Mutator struct {
	Name   string
	Mutate func(pod *corev1.Pod) (*corev1.Pod, []string, error)
}

// Options tune NewWithOptions.
type Options struct {
	// Mutators run in order after the ServiceAccount plugin, as the API
	// server calls mutating webhooks, before PSA and Gatekeeper.
	Mutators []Mutator
}

// Admitter decides admission for a snapshot's cluster.
type Admitter struct {
	mutators   []Mutator
	env        *env.Environment
	psa        *podsecurity.Evaluator
	gk         *gatekeeper.Engine
	azure      *azurepolicy.Set
	azureByID  map[string]*azurepolicy.Constraint // constraint name → Azure constraint
	assignByID map[string]AssignmentRef           // lower-case assignment ID → ref (for snapshot constraints)
	notes      []string
	namespaces sync.Map // name → *corev1.Namespace of the snapshot, as served (namespaceObject)
}

// New prepares an Admitter: PSA over the snapshot's namespaces, the
// snapshot's ConstraintTemplates and constraints, and the Azure Policy
// assignments as constraints when the add-on is enabled (or when aks.json is
// missing, assumed enabled).
func New(ctx context.Context, e *env.Environment) (*Admitter, error) {
	return NewWithOptions(ctx, e, Options{})
}

// NewWithOptions is New with mutating webhooks.
func NewWithOptions(ctx context.Context, e *env.Environment, opts Options) (*Admitter, error) {
	psa, err := podsecurity.New(e)
	if err != nil {
		return nil, err
	}
	a := &Admitter{mutators: opts.Mutators, env: e, psa: psa, azureByID: map[string]*azurepolicy.Constraint{}, assignByID: map[string]AssignmentRef{}}
	var templates, constraints []gatekeeper.Item
	snapKinds := map[string]bool{}
	fromCluster := map[string]bool{} // assignment IDs whose constraints the snapshot already holds
	for _, t := range e.ConstraintTemplates {
		templates = append(templates, gatekeeper.Item{Loc: t.Loc, Obj: t.Obj})
		k, _, _ := unstructured.NestedString(t.Obj.Object, "spec", "crd", "spec", "names", "kind")
		snapKinds[k] = true
	}
	for _, c := range e.Constraints {
		constraints = append(constraints, gatekeeper.Item{Loc: c.Loc, Obj: c.Obj})
		if id := c.Obj.GetAnnotations()["azure-policy-assignment-id"]; id != "" {
			fromCluster[strings.ToLower(id)] = true
		}
	}
	enabled := true
	if e.Cluster != nil {
		if ap := e.Cluster.Addon("azurepolicy"); ap == nil || !ap.Enabled {
			enabled = false
		}
	}
	if e.Azure != nil && len(e.Azure.PolicyAssignments) > 0 {
		for _, pa := range e.Azure.PolicyAssignments {
			a.assignByID[strings.ToLower(pa.ID)] = AssignmentRef{ID: pa.ID, DisplayName: displayName(pa.DisplayName, pa.Name), Definition: pa.PolicyDefinitionID, Loc: pa.Src}
		}
		switch {
		case !enabled:
			a.notes = append(a.notes, "the Azure Policy add-on is not enabled on the cluster (aks.json addonProfiles.azurepolicy): the policy assignments make no constraints")
		default:
			if e.Cluster == nil {
				a.notes = append(a.notes, "no aks.json: the Azure Policy add-on is assumed enabled")
			}
			pas := e.Azure.PolicyAssignments
			clusterID := ""
			if e.Cluster != nil {
				clusterID = e.Cluster.ID
			}
			set, err := azurepolicy.Build(pas, azurepolicy.Options{ClusterID: clusterID})
			if err != nil {
				return nil, err
			}
			a.azure = set
			ts, cs := set.Items()
			for _, t := range ts {
				k, _, _ := unstructured.NestedString(t.Obj.Object, "spec", "crd", "spec", "names", "kind")
				if !snapKinds[k] { // a template the snapshot holds is the cluster's own: it wins
					templates = append(templates, t)
				}
			}
			for i, c := range set.Constraints {
				if fromCluster[strings.ToLower(c.Assignment.ID)] {
					continue // the snapshot holds the add-on's constraints for this assignment
				}
				constraints = append(constraints, cs[i])
				a.azureByID[c.Name()] = c
			}
		}
	}
	gk, err := gatekeeper.New(ctx, templates, constraints, gatekeeper.Options{
		Inventory:  func() (map[string]any, error) { return Inventory(e) },
		Prefilters: azurepolicy.Prefilters(),
	})
	if err != nil {
		return nil, err
	}
	a.gk = gk
	return a, nil
}

func displayName(d, n string) string {
	if d != "" {
		return d
	}
	return n
}

// Engine returns the Gatekeeper engine (templates, constraints, problems).
func (a *Admitter) Engine() *gatekeeper.Engine { return a.gk }

// PodSecurity returns the PSA evaluator.
func (a *Admitter) PodSecurity() *podsecurity.Evaluator { return a.psa }

// Azure returns the constraints made from the Azure Policy assignments (nil
// when there are none or the add-on is off).
func (a *Admitter) Azure() *azurepolicy.Set { return a.azure }

// Notes are assumptions the Admitter made about the cluster.
func (a *Admitter) Notes() []string { return a.notes }

// AzureConstraint returns the Azure constraint behind a Gatekeeper
// constraint name, or nil.
func (a *Admitter) AzureConstraint(name string) *azurepolicy.Constraint { return a.azureByID[name] }

// Admit decides one object of a manifest or of the snapshot.
func (a *Admitter) Admit(ctx context.Context, o *snapshot.Object) (*Verdict, error) {
	v := &Verdict{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Loc: o.Loc, Allowed: true, Denials: []Denial{}, Warnings: []string{}}
	switch t := o.Typed.(type) {
	case *corev1.Pod:
		return a.admitPod(ctx, t, o.Loc, SourceOriginal)
	case *appsv1.Deployment:
		return a.admitWorkload(ctx, v, o, &t.Spec.Template)
	case *appsv1.ReplicaSet:
		return a.admitWorkload(ctx, v, o, &t.Spec.Template)
	case *appsv1.StatefulSet:
		return a.admitWorkload(ctx, v, o, &t.Spec.Template)
	case *appsv1.DaemonSet:
		return a.admitWorkload(ctx, v, o, &t.Spec.Template)
	case *batchv1.Job:
		return a.admitWorkload(ctx, v, o, &t.Spec.Template)
	case *batchv1.CronJob:
		return a.admitWorkload(ctx, v, o, &t.Spec.JobTemplate.Spec.Template)
	case *corev1.ReplicationController:
		if t.Spec.Template != nil {
			return a.admitWorkload(ctx, v, o, t.Spec.Template)
		}
	case *corev1.PodTemplate:
		return a.admitWorkload(ctx, v, o, &t.Template)
	}
	obj, err := toObject(o)
	if err != nil {
		return nil, err
	}
	if err := a.review(ctx, v, obj, nil); err != nil {
		return nil, err
	}
	finish(v)
	return v, nil
}

// Source of the object under review.
const (
	SourceOriginal  = gatekeeper.SourceOriginal
	SourceGenerated = gatekeeper.SourceGenerated
)

// AdmitPod decides the creation of a pod: could someone create this pod
// (running as its serviceAccountName, in its namespace)? It is what the
// attack-path graph asks. The pod is not modified.
func (a *Admitter) AdmitPod(ctx context.Context, pod *corev1.Pod) (*Verdict, error) {
	return a.admitPod(ctx, pod, source.Location{}, SourceOriginal)
}

func (a *Admitter) admitPod(ctx context.Context, in *corev1.Pod, loc source.Location, src string) (*Verdict, error) {
	pod := in.DeepCopy()
	pod.APIVersion, pod.Kind = "v1", "Pod"
	snapshot.DefaultPodSpec(&pod.Spec)
	apiDefaults(&pod.Spec)
	if pod.Name == "" && pod.GenerateName != "" {
		pod.Name = pod.GenerateName + generatedSuffix(pod.Namespace+"/Pod/"+pod.GenerateName)
	}
	name := pod.Name
	v := &Verdict{Kind: "Pod", Namespace: pod.Namespace, Name: name, Loc: loc, Allowed: true, Denials: []Denial{}, Warnings: []string{}, Pod: pod}
	a.mountServiceAccountToken(v, pod)
	for _, m := range a.mutators {
		out, warnings, err := m.Mutate(pod)
		v.Warnings = append(v.Warnings, warnings...)
		if err != nil {
			v.Denials = append(v.Denials, Denial{Layer: LayerMutatingWebhook, Policy: m.Name, Action: "deny", Message: err.Error()})
			v.Message = err.Error()
			continue
		}
		if out != nil {
			pod = out
			v.Pod = pod
		}
	}
	res := a.psa.Admit(podsecurity.Request{Resource: "pods", Namespace: pod.Namespace, Name: name, Meta: &pod.ObjectMeta, Spec: &pod.Spec})
	a.addPSA(v, res, &pod.Spec)
	obj := &gatekeeper.Object{Version: "v1", Kind: "Pod", Resource: "pods", Namespace: pod.Namespace, Name: pod.Name, GenerateName: pod.GenerateName, Labels: pod.Labels, Typed: pod, Source: src}
	if err := a.review(ctx, v, obj, &pod.Spec); err != nil {
		return nil, err
	}
	finish(v)
	return v, nil
}

// admitWorkload decides the workload itself (PSA audit and warn on its
// template, Gatekeeper on its kind, and Gatekeeper's expansion for
// constraints whose source is All or Generated), then the pods it creates.
func (a *Admitter) admitWorkload(ctx context.Context, v *Verdict, o *snapshot.Object, tmpl *corev1.PodTemplateSpec) (*Verdict, error) {
	spec := tmpl.Spec.DeepCopy()
	snapshot.DefaultPodSpec(spec)
	meta := tmpl.ObjectMeta.DeepCopy()
	res := a.psa.Admit(podsecurity.Request{Group: o.Group, Resource: gatekeeper.Resource(o.Kind), Namespace: o.Namespace, Name: o.Name, Meta: meta, Spec: spec, Controller: true})
	a.addPSA(v, res, spec)
	obj, err := toObject(o)
	if err != nil {
		return nil, err
	}
	if err := a.review(ctx, v, obj, nil); err != nil {
		return nil, err
	}
	pod := PodFromTemplate(o, tmpl)
	// Gatekeeper expansion: the pod the workload implies, reviewed as
	// Generated; only constraints with source All or Generated see it, and
	// their denial is the workload's.
	exp, err := a.expansion(ctx, pod, o.Kind)
	if err != nil {
		return nil, err
	}
	v.Denials = append(v.Denials, exp...)
	pv, err := a.admitPod(ctx, pod, o.Loc, SourceOriginal)
	if err != nil {
		return nil, err
	}
	pv.Notes = append(pv.Notes, fmt.Sprintf("the pods the %s's controller creates (named %s<random>, here %s), decided at their creation", o.Kind, pod.GenerateName, pod.Name))
	v.Pods = pv
	finish(v)
	return v, nil
}

func (a *Admitter) expansion(ctx context.Context, pod *corev1.Pod, parentKind string) ([]Denial, error) {
	p := pod.DeepCopy()
	snapshot.DefaultPodSpec(&p.Spec)
	apiDefaults(&p.Spec)
	obj := &gatekeeper.Object{Version: "v1", Kind: "Pod", Resource: "pods", Namespace: p.Namespace, Name: p.Name, GenerateName: p.GenerateName, Labels: p.Labels, Typed: p, Source: SourceGenerated}
	tmp := &Verdict{Denials: []Denial{}}
	if err := a.review(ctx, tmp, obj, &p.Spec); err != nil {
		return nil, err
	}
	var out []Denial
	for _, d := range tmp.Denials {
		d.Message = "[Implied by expansion of the " + parentKind + "'s pod template] " + d.Message
		out = append(out, d)
	}
	return out, nil
}

// PodFromTemplate builds the pod a workload's controller creates.
func PodFromTemplate(o *snapshot.Object, tmpl *corev1.PodTemplateSpec) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: *tmpl.ObjectMeta.DeepCopy(), Spec: *tmpl.Spec.DeepCopy()}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	pod.Namespace = o.Namespace
	pod.GenerateName = o.Name + "-"
	// The API server generates the name before validating admission, so
	// webhooks and PSA see one; a stable stand-in keeps answers repeatable.
	pod.Name = pod.GenerateName + generatedSuffix(o.Namespace+"/"+o.Kind+"/"+o.Name)
	ctrl := true
	pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Controller: &ctrl}}
	return pod
}

// generatedSuffix is a stable stand-in for the five characters the API
// server's name generator appends (from its alphabet, no vowels).
func generatedSuffix(key string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	h := fnv.New64a()
	h.Write([]byte(key))
	n := h.Sum64()
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	return string(b)
}

// mountServiceAccountToken applies the ServiceAccount admission plugin: the
// projected API token volume and its mount in every container and init
// container, unless the pod or its ServiceAccount opts out.
func (a *Admitter) mountServiceAccountToken(v *Verdict, pod *corev1.Pod) {
	sa := a.env.ServiceAccount(pod.Namespace, pod.Spec.ServiceAccountName)
	if sa == nil && pod.Spec.ServiceAccountName != "default" && a.hasServiceAccounts(pod.Namespace) {
		v.Denials = append(v.Denials, Denial{Layer: LayerServiceAccount, Policy: "ServiceAccount admission", Action: "deny", Field: "spec.serviceAccountName",
			Message: fmt.Sprintf("pods %q is forbidden: error looking up service account %s/%s: serviceaccount %q not found", v.Name, pod.Namespace, pod.Spec.ServiceAccountName, pod.Spec.ServiceAccountName),
			Fix:     fmt.Sprintf("create the ServiceAccount %s/%s first", pod.Namespace, pod.Spec.ServiceAccountName)})
	}
	automount := true
	if pod.Spec.AutomountServiceAccountToken != nil {
		automount = *pod.Spec.AutomountServiceAccountToken
	} else if sa != nil && sa.Obj.AutomountServiceAccountToken != nil {
		automount = *sa.Obj.AutomountServiceAccountToken
	}
	if !automount {
		return
	}
	const path = "/var/run/secrets/kubernetes.io/serviceaccount"
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, m := range c.VolumeMounts {
			if m.MountPath == path {
				return // mounted by hand: the plugin adds nothing
			}
		}
	}
	name := "kube-api-access-" + "xxxxx"
	exp := int64(3607)
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &exp, Path: "token"}},
		{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
		{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
	}}}})
	mount := corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: path}
	for i := range pod.Spec.InitContainers {
		pod.Spec.InitContainers[i].VolumeMounts = append(pod.Spec.InitContainers[i].VolumeMounts, mount)
	}
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].VolumeMounts = append(pod.Spec.Containers[i].VolumeMounts, mount)
	}
}

func (a *Admitter) hasServiceAccounts(ns string) bool {
	for _, sa := range a.env.ServiceAccounts {
		if sa.Obj.Namespace == ns {
			return true
		}
	}
	return false
}

// namespaceObject returns the object's Namespace as the API server has it
// (with the kubernetes.io/metadata.name label it always sets), and whether
// the snapshot holds it.
func (a *Admitter) namespaceObject(ns string) (*corev1.Namespace, bool) {
	if ns == "" {
		return nil, true
	}
	if n, ok := a.namespaces.Load(ns); ok {
		return n.(*corev1.Namespace), true
	}
	it := a.env.Namespace(ns)
	if it == nil {
		return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}}}, false
	}
	n := namespaceAsServed(it.Obj)
	a.namespaces.Store(ns, n) // the same object every time: the engine caches its Rego value
	return n, true
}

// namespaceAsServed is the Namespace as the API server serves it: with its
// kind and the kubernetes.io/metadata.name label the API server sets.
func namespaceAsServed(obj *corev1.Namespace) *corev1.Namespace {
	ns := obj.Name
	n := obj.DeepCopy()
	n.APIVersion, n.Kind = "v1", "Namespace"
	if n.Labels["kubernetes.io/metadata.name"] != ns {
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels["kubernetes.io/metadata.name"] = ns
	}
	return n
}

// review runs the Gatekeeper webhook on the object.
func (a *Admitter) review(ctx context.Context, v *Verdict, obj *gatekeeper.Object, spec *corev1.PodSpec) error {
	if obj.Source == "" {
		obj.Source = SourceOriginal
	}
	ns, known := a.namespaceObject(obj.Namespace)
	if obj.Kind == "Namespace" && obj.Group == "" {
		ns, known = nil, true
	}
	if !known {
		v.Notes = appendOnce(v.Notes, fmt.Sprintf("namespace %s is not in the snapshot: assumed to exist without labels", obj.Namespace))
	}
	if ns != nil && ns.Labels["admission.gatekeeper.sh/ignore"] != "" {
		v.Notes = appendOnce(v.Notes, fmt.Sprintf("namespace %s is labelled admission.gatekeeper.sh/ignore: the Gatekeeper webhook does not see it", ns.Name))
		return nil
	}
	obj.NamespaceObject = ns
	results, err := a.gk.Review(ctx, obj)
	if err != nil {
		return err
	}
	for _, r := range results {
		d := a.denial(r, spec)
		switch {
		case r.Constraint.Denies():
			v.Denials = append(v.Denials, d)
		case r.Constraint.Warns():
			d.Action = gatekeeper.ActionWarn
			v.Warnings = append(v.Warnings, fmt.Sprintf("[%s] %s", r.Constraint.Name, r.Msg))
			v.Audit = append(v.Audit, d)
		default:
			d.Action = gatekeeper.ActionDryRun
			v.Audit = append(v.Audit, d)
		}
	}
	return nil
}

func (a *Admitter) denial(r gatekeeper.Result, spec *corev1.PodSpec) Denial {
	c := r.Constraint
	d := Denial{Layer: LayerGatekeeper, Policy: c.Kind + "/" + c.Name, Message: r.Msg, Constraint: c.Name, Action: gatekeeper.ActionDeny}
	if c.Template != nil {
		d.Template = c.Template.Name
	}
	tmplFile := c.Template.Annotations["akssec.io/azure-template"]
	if az := a.azureByID[c.Name]; az != nil {
		d.Layer = LayerAzurePolicy
		d.Policy = az.DisplayName()
		d.Assignment = &AssignmentRef{ID: az.Assignment.ID, DisplayName: az.DisplayName(), Definition: az.Definition.DisplayName + " (" + az.Definition.Version + ")", Effect: az.Effect, DoNotEnforce: az.DoNotEnforce, Loc: az.Assignment.Src}
		tmplFile = az.TemplateFile
	} else if id := c.Annotations["azure-policy-assignment-id"]; id != "" {
		d.Layer = LayerAzurePolicy
		if ref, ok := a.assignByID[strings.ToLower(id)]; ok {
			d.Policy = ref.DisplayName
			r := ref
			d.Assignment = &r
		}
	}
	if spec != nil {
		d.Container, d.Field = locate(r.Msg, spec, templateField(tmplFile))
	}
	d.Fix = templateFix(tmplFile)
	if r.Autoreject {
		d.Fix = "the constraint's namespaceSelector needs the Namespace object; add it to the snapshot"
	}
	return d
}

func (a *Admitter) addPSA(v *Verdict, res podsecurity.Result, spec *corev1.PodSpec) {
	r := res
	v.PodSecurity = &r
	v.Warnings = append(v.Warnings, res.Warnings...)
	if !res.NamespaceKnown && res.Namespace != "" && res.Exempt == "" {
		v.Notes = appendOnce(v.Notes, fmt.Sprintf("namespace %s is not in the snapshot: PSA applied the cluster defaults (privileged)", res.Namespace))
	}
	if !res.Allowed {
		if v.Message == "" || strings.Contains(v.Message, "service account") {
			v.Message = res.Message
		}
		for _, vi := range res.Violations {
			for _, d := range psaDenials(res.Policy.Enforce.String(), vi, spec) {
				d.Action = "deny"
				v.Denials = append(v.Denials, d)
			}
		}
	}
	if res.Audit != "" {
		v.Audit = append(v.Audit, Denial{Layer: LayerPodSecurity, Policy: res.Policy.Audit.String(), Message: res.Audit, Action: "audit"})
	}
}

// finish sets Allowed and the API server's message.
func finish(v *Verdict) {
	v.Allowed = len(v.Denials) == 0
	if v.Allowed || v.Message != "" {
		return
	}
	var gk []string
	for _, d := range v.Denials {
		switch d.Layer {
		case LayerServiceAccount:
			v.Message = d.Message
			return
		case LayerGatekeeper, LayerAzurePolicy:
			if !strings.HasPrefix(d.Message, "[Implied by") {
				gk = append(gk, fmt.Sprintf("[%s] %s", d.Constraint, d.Message))
			} else {
				gk = append(gk, d.Message)
			}
		}
	}
	if len(gk) > 0 {
		v.Message = `admission webhook "validation.gatekeeper.sh" denied the request: ` + strings.Join(gk, "\n")
	}
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// toObject converts a snapshot object for review.
func toObject(o *snapshot.Object) (*gatekeeper.Object, error) {
	var m map[string]any
	var err error
	typed := o.Typed
	if svc, ok := typed.(*corev1.Service); ok {
		typed = serviceDefaults(svc)
	}
	if u, ok := typed.(*unstructured.Unstructured); ok {
		m = u.Object
	} else if m, err = gatekeeper.ToMap(typed); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Loc, err)
	}
	version := o.APIVersion
	if i := strings.LastIndex(version, "/"); i >= 0 {
		version = version[i+1:]
	}
	meta, _ := m["metadata"].(map[string]any)
	gen, _ := meta["generateName"].(string)
	labels := map[string]string{}
	if l, ok := meta["labels"].(map[string]any); ok {
		for k, v := range l {
			if s, ok := v.(string); ok {
				labels[k] = s
			}
		}
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return &gatekeeper.Object{Group: o.Group, Version: version, Kind: o.Kind, Resource: gatekeeper.Resource(o.Kind), Namespace: o.Namespace, Name: o.Name, GenerateName: gen, Labels: labels, Object: m}, nil
}

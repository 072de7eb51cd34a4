// Package images decides the image layer of AKS: which images pods run
// (containers, init containers, ephemeral containers), how they are named
// (registry, tag, digest, :latest), which registries the Azure Policy
// allowed-images assignments admit, and whether the kubelet identity may
// pull from each Azure Container Registry (AcrPull through Azure RBAC).
package images

import (
	"regexp"
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// Ref is an image reference as the container runtime resolves it.
type Ref struct {
	Raw        string `json:"image"`
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
}

// Parse splits an image reference the way the Docker reference grammar
// does: the first path component is a registry when it holds a "." or a
// ":" or is "localhost", else the registry is docker.io (and a one-part name
// is under library/); the tag follows the last ":" after the last "/"; the
// digest follows "@".
func Parse(image string) Ref {
	r := Ref{Raw: image}
	name := image
	if i := strings.Index(name, "@"); i >= 0 {
		r.Digest = name[i+1:]
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		r.Tag = name[i+1:]
		name = name[:i]
	}
	first, rest, found := strings.Cut(name, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		r.Registry, r.Repository = strings.ToLower(first), rest
	} else {
		r.Registry, r.Repository = "docker.io", name
		if !found {
			r.Repository = "library/" + name
		}
	}
	if r.Registry == "index.docker.io" || r.Registry == "registry-1.docker.io" {
		r.Registry = "docker.io"
	}
	return r
}

// Latest reports whether the reference floats: tag latest, or neither tag
// nor digest (which means latest).
func (r Ref) Latest() bool { return r.Digest == "" && (r.Tag == "" || r.Tag == "latest") }

// ACR returns the registry name of an Azure Container Registry login server
// (<name>.azurecr.io and the sovereign-cloud suffixes), or "".
func (r Ref) ACR() string {
	for _, suffix := range []string{".azurecr.io", ".azurecr.us", ".azurecr.cn"} {
		if strings.HasSuffix(r.Registry, suffix) {
			return strings.TrimSuffix(r.Registry, suffix)
		}
	}
	return ""
}

// publicRegistries are registries anyone can push to or that serve
// community images.
var publicRegistries = map[string]bool{"docker.io": true, "ghcr.io": true, "quay.io": true, "gcr.io": true, "registry.k8s.io": true,
	"k8s.gcr.io": true, "public.ecr.aws": true, "registry.gitlab.com": true, "mcr.microsoft.com": true}

// Public reports whether the registry is a public one.
func (r Ref) Public() bool { return publicRegistries[r.Registry] }

// Use is one container's image in one pod.
type Use struct {
	Pod       *env.Pod `json:"-"`
	PodRef    string   `json:"pod"`
	Container string   `json:"container"`
	// Kind is "container", "initContainer" or "ephemeralContainer".
	Kind string          `json:"kind"`
	Ref  Ref             `json:"ref"`
	Loc  source.Location `json:"location"`
}

// InUse returns every image of every pod, in pod order.
func InUse(e *env.Environment) []Use {
	var out []Use
	for _, p := range e.Pods {
		out = append(out, PodImages(p)...)
	}
	return out
}

// PodImages returns the images of one pod: init, then regular, then
// ephemeral containers.
func PodImages(p *env.Pod) []Use {
	var out []Use
	add := func(kind, name, image string) {
		out = append(out, Use{Pod: p, PodRef: p.Ref(), Container: name, Kind: kind, Ref: Parse(image), Loc: p.Loc})
	}
	for _, c := range p.Spec.InitContainers {
		add("initContainer", c.Name, c.Image)
	}
	for _, c := range p.Spec.Containers {
		add("container", c.Name, c.Image)
	}
	for _, c := range p.Spec.EphemeralContainers {
		add("ephemeralContainer", c.Name, c.Image)
	}
	return out
}

// AllowedImagesDefinition is the built-in Azure Policy "Kubernetes cluster
// containers should only use allowed images".
const AllowedImagesDefinition = "febd0533-8e55-448f-b837-bd0e06f16469"

// AllowedPolicy is one allowed-images assignment.
type AllowedPolicy struct {
	Assignment *azure.PolicyAssignment
	Regex      string
	// Compiled is nil when Regex does not compile.
	Compiled           *regexp.Regexp
	Effect             string
	ExcludedNamespaces []string
	Enforced           bool // enforcementMode Default and effect deny
}

// AllowedPolicies returns the allowed-images assignments of the snapshot.
func AllowedPolicies(e *env.Environment) []AllowedPolicy {
	var out []AllowedPolicy
	for _, a := range e.Azure.PolicyAssignments {
		if a.DefinitionGUID() != AllowedImagesDefinition {
			continue
		}
		p := AllowedPolicy{Assignment: a, Effect: "deny"}
		if v, ok := a.Parameters["allowedContainerImagesRegex"].Value.(string); ok {
			p.Regex = v
			p.Compiled, _ = regexp.Compile(v)
		}
		if v, ok := a.Parameters["effect"].Value.(string); ok {
			p.Effect = v
		}
		if v, ok := a.Parameters["excludedNamespaces"].Value.([]any); ok {
			for _, n := range v {
				if s, ok := n.(string); ok {
					p.ExcludedNamespaces = append(p.ExcludedNamespaces, s)
				}
			}
		} else {
			p.ExcludedNamespaces = []string{"kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system"}
		}
		p.Enforced = !strings.EqualFold(a.EnforcementMode, "DoNotEnforce") && strings.EqualFold(p.Effect, "deny")
		out = append(out, p)
	}
	return out
}

// Allows reports whether the policy admits an image in a namespace: the
// Gatekeeper template tests re_match(regex, image), which is unanchored.
func (p AllowedPolicy) Allows(ns, image string) bool {
	for _, x := range p.ExcludedNamespaces {
		if x == ns {
			return true
		}
	}
	return p.Compiled != nil && p.Compiled.MatchString(image)
}

// RegistryUse summarizes one registry: the images pulled from it, and
// whether every allowed-images policy admits them.
type RegistryUse struct {
	Registry string   `json:"registry"`
	Images   []string `json:"images"`
	Pods     int      `json:"pods"`
	Public   bool     `json:"public"`
	// Allowed is false when some image from the registry is refused by an
	// allowed-images assignment (in its namespace).
	Allowed bool `json:"allowed"`
	// KubeletCanPull is set for ACR registries: whether the kubelet
	// identity holds a role with pull/read there ("yes", "no", "unknown").
	KubeletCanPull string `json:"kubeletCanPull,omitempty"`
}

// Registries returns the registries in use, sorted.
func Registries(e *env.Environment) []RegistryUse {
	pols := AllowedPolicies(e)
	pull := NewPullChecker(e)
	by := map[string]*RegistryUse{}
	imgs := map[string]map[string]bool{}
	pods := map[string]map[*env.Pod]bool{}
	for _, u := range InUse(e) {
		ru := by[u.Ref.Registry]
		if ru == nil {
			ru = &RegistryUse{Registry: u.Ref.Registry, Public: u.Ref.Public(), Allowed: true}
			if acr := u.Ref.ACR(); acr != "" {
				ru.KubeletCanPull = pull.CanPull(acr).Answer
			}
			by[u.Ref.Registry] = ru
			imgs[u.Ref.Registry] = map[string]bool{}
			pods[u.Ref.Registry] = map[*env.Pod]bool{}
		}
		imgs[u.Ref.Registry][u.Ref.Raw] = true
		pods[u.Ref.Registry][u.Pod] = true
		for _, p := range pols {
			if !p.Allows(u.Pod.Namespace, u.Ref.Raw) {
				ru.Allowed = false
			}
		}
	}
	var out []RegistryUse
	for reg, ru := range by {
		for i := range imgs[reg] {
			ru.Images = append(ru.Images, i)
		}
		sort.Strings(ru.Images)
		ru.Pods = len(pods[reg])
		out = append(out, *ru)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Registry < out[j].Registry })
	return out
}

// PullChecker decides whether the kubelet identity may pull from an ACR.
type PullChecker struct {
	kubelet *azure.UserIdentity
	roles   *azrole.Index
	known   bool
}

// NewPullChecker prepares the kubelet identity's role assignments.
func NewPullChecker(e *env.Environment) *PullChecker {
	pc := &PullChecker{roles: azrole.NewIndex(e.Azure.RoleAssignments, e.Directory), known: len(e.Azure.RoleAssignments) > 0}
	if e.Cluster != nil {
		pc.kubelet = e.Cluster.KubeletIdentity()
	}
	return pc
}

// PullAnswer is the decision for one registry.
type PullAnswer struct {
	// Answer is "yes", "no" or "unknown" (no kubelet identity or no role
	// assignments in the snapshot, or only assignments at a subscription or
	// resource group whose content the snapshot does not show).
	Answer     string
	Assignment *azure.RoleAssignment
	Role       string
	Kubelet    *azure.UserIdentity
}

// pullAction is the data-plane pull permission of ACR's AcrPull role.
const pullAction = "Microsoft.ContainerRegistry/registries/pull/read"

// CanPull decides for the registry name (the login server's first label).
func (pc *PullChecker) CanPull(registry string) PullAnswer {
	if pc.kubelet == nil || !pc.known {
		return PullAnswer{Answer: "unknown", Kubelet: pc.kubelet}
	}
	answer := PullAnswer{Answer: "no", Kubelet: pc.kubelet}
	for _, a := range pc.roles.For(pc.kubelet.ObjectID) {
		d := azrole.DefinitionOf(a)
		if d == nil || !d.AllowsAction(pullAction) {
			continue
		}
		scope := strings.ToLower(strings.TrimSuffix(a.Scope, "/"))
		switch {
		case strings.Contains(scope, "/providers/microsoft.containerregistry/registries/"):
			if strings.HasSuffix(scope, "/registries/"+strings.ToLower(registry)) || strings.Contains(scope, "/registries/"+strings.ToLower(registry)+"/") {
				return PullAnswer{Answer: "yes", Assignment: a, Role: d.Name, Kubelet: pc.kubelet}
			}
		case !strings.Contains(scope, "/providers/"):
			// subscription or resource group: may hold the registry
			answer = PullAnswer{Answer: "unknown", Assignment: a, Role: d.Name, Kubelet: pc.kubelet}
		}
	}
	return answer
}

package images

import (
	"context"
	"fmt"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
)

// The rules of the image layer. AKS-IMG-0NN belong to the admission
// engine, which evaluates the allowed-images policy; Registries reports
// registries in use against it as data.
var (
	RuleLatest = finding.Rule{ID: "AKS-IMG-101", Layer: finding.LayerImages, Severity: finding.Medium,
		Title: "Image uses :latest or no tag"}
	RuleNoDigest = finding.Rule{ID: "AKS-IMG-102", Layer: finding.LayerImages, Severity: finding.Low,
		Title: "Image is not pinned by digest"}
	RulePublic = finding.Rule{ID: "AKS-IMG-103", Layer: finding.LayerImages, Severity: finding.Medium,
		Title: "Image comes from a public or non-Azure registry"}
	RuleNoPull = finding.Rule{ID: "AKS-IMG-104", Layer: finding.LayerImages, Severity: finding.High,
		Title: "Kubelet identity may not pull from the Azure Container Registry (no AcrPull)"}
)

// Rules returns the image layer's rules.
func Rules() []finding.Rule {
	return []finding.Rule{RuleLatest, RuleNoDigest, RulePublic, RuleNoPull}
}

func podObj(p *env.Pod) finding.Object {
	if p.Synthesized && p.Workload != nil {
		return finding.Object{Kind: p.Workload.Kind, Namespace: p.Namespace, Name: p.Workload.Name}
	}
	return finding.Object{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
}

// Check returns the image layer's findings.
func Check(ctx context.Context, e *env.Environment) []finding.Finding {
	var out []finding.Finding
	pull := NewPullChecker(e)
	for i, p := range e.Pods {
		if i%256 == 0 && ctx.Err() != nil {
			break
		}
		for _, u := range PodImages(p) {
			where := fmt.Sprintf("%s %s of %s", u.Kind, u.Container, p.Ref())
			evd := finding.Evidence{Loc: p.Loc, Text: fmt.Sprintf("%s image %s", where, u.Ref.Raw)}
			obj := podObj(p)
			if u.Ref.Latest() {
				tag := "no tag (so latest)"
				if u.Ref.Tag == "latest" {
					tag = "the tag latest"
				}
				out = append(out, RuleLatest.New(obj, p.Loc, fmt.Sprintf("%s uses %s with %s: the image can change under the same name, and kubelet pulls it on every start", where, u.Ref.Raw, tag),
					"pin a version tag, better a digest: image: "+u.Ref.Registry+"/"+u.Ref.Repository+"@sha256:<digest>", evd))
			} else if u.Ref.Digest == "" {
				out = append(out, RuleNoDigest.New(obj, p.Loc, fmt.Sprintf("%s uses %s, a tag that can be moved to other content", where, u.Ref.Raw),
					"pin by digest: image: "+u.Ref.Raw+"@sha256:<digest> (az acr repository show --name REGISTRY --image REPO:TAG --query digest)", evd))
			}
			if u.Ref.ACR() == "" {
				kind := "a non-Azure registry"
				if u.Ref.Public() {
					kind = "a public registry"
				}
				out = append(out, RulePublic.New(obj, p.Loc, fmt.Sprintf("%s pulls %s from %s (%s): its content is outside your registry's scanning and access control", where, u.Ref.Raw, kind, u.Ref.Registry),
					"import it into your Azure Container Registry (az acr import --name REGISTRY --source "+u.Ref.Raw+") and reference it there", evd))
			} else if len(p.Spec.ImagePullSecrets) == 0 {
				if a := pull.CanPull(u.Ref.ACR()); a.Answer == "no" {
					out = append(out, RuleNoPull.New(obj, p.Loc,
						fmt.Sprintf("%s pulls %s, but the kubelet identity (%s) has no role with %s on registry %s: kubelet reports ErrImagePull: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://%s/oauth2/token?scope=repository%%3A%s%%3Apull&service=%s: 401 Unauthorized",
							where, u.Ref.Raw, a.Kubelet.ClientID, pullAction, u.Ref.ACR(), u.Ref.Registry, u.Ref.Repository, u.Ref.Registry),
						fmt.Sprintf("az aks update -g RG -n CLUSTER --attach-acr %s  (grants AcrPull to the kubelet identity %s)", u.Ref.ACR(), a.Kubelet.ObjectID), evd))
				}
			}
		}
	}
	finding.Sort(out)
	return out
}

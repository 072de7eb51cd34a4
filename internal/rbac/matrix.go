package rbac

import "github.com/akssec/akssec/internal/authn"

// MatrixVerbs are the columns of an access matrix: the API verbs of
// resource requests plus the escalation verbs.
var MatrixVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate"}

// MatrixRow is one resource's verbs.
type MatrixRow struct {
	Resource   string          `json:"resource"` // resource or resource.group, with /sub
	Group      string          `json:"group"`
	Namespaced bool            `json:"namespaced"`
	Verbs      map[string]bool `json:"verbs"`
}

// Matrix is what a user may do, resource by verb.
type Matrix struct {
	User      authn.UserInfo `json:"user"`
	Namespace string         `json:"namespace,omitempty"`
	Verbs     []string       `json:"verbs"`
	Rows      []MatrixRow    `json:"rows"`
}

// AccessMatrix decides every verb of MatrixVerbs on every resource of the
// discovery table (and the pod subresources an attacker wants: exec,
// attach, portforward, log, ephemeralcontainers) for u. With a namespace,
// namespaced resources are asked in that namespace and cluster-scoped
// resources cluster-wide, as the requests of a real client would be; with
// ns "", everything is asked cluster-wide (all namespaces).
func (a *Authorizer) AccessMatrix(u authn.UserInfo, ns string) *Matrix {
	m := &Matrix{User: u, Namespace: ns, Verbs: MatrixVerbs}
	type item struct {
		group, resource, sub string
		namespaced           bool
	}
	var items []item
	for _, r := range a.discovery.Sorted() {
		items = append(items, item{r.Group, r.Resource, "", r.Namespaced})
		if r.Group == "" && r.Resource == "pods" {
			for _, s := range []string{"attach", "ephemeralcontainers", "exec", "log", "portforward"} {
				items = append(items, item{"", "pods", s, true})
			}
		}
	}
	for _, it := range items {
		row := MatrixRow{Resource: it.resource, Group: it.group, Namespaced: it.namespaced, Verbs: map[string]bool{}}
		if it.group != "" {
			row.Resource += "." + it.group
		}
		if it.sub != "" {
			row.Resource = it.resource + "/" + it.sub
		}
		attrs := Attributes{User: u, APIGroup: it.group, Resource: it.resource, Subresource: it.sub, ResourceRequest: true}
		if it.namespaced {
			attrs.Namespace = ns
		}
		for _, v := range MatrixVerbs {
			attrs.Verb = v
			row.Verbs[v] = a.Authorize(&attrs).Allowed
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

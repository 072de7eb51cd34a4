// Package azurerbac decides Azure RBAC for Kubernetes Authorization as the
// AKS authorization webhook (kubeguard/guard, authz/providers/azure) does:
// a request becomes one Azure data action
// (Microsoft.ContainerService/managedClusters/<group>/<resource>/<action>,
// core group omitted, get/list/watch → read, create/update/patch → write,
// delete/deletecollection → delete, bind/escalate/use/impersonate →
// <verb>/action, every subresource collapsed to its resource except
// pods/exec → pods/exec/action, non-resource paths as
// managedClusters/<path>/<action>) at the cluster scope or, for a
// namespaced request, <cluster>/namespaces/<ns>; it is allowed when a role
// assignment of the user (or one of its groups) at that scope or above has
// a role whose DataActions match and NotDataActions do not.
//
// Guard has no opinion for usernames starting with "system:" and for users
// without extra["oid"] (SkipAuthzForNonAADUsers, the AKS default), allows
// discovery paths, and otherwise explicitly denies what Azure does not
// allow. The four built-in AKS roles are known by ID; custom role
// definitions are not in the snapshot and are reported as unknown.
package azurerbac

import (
	"path"
	"strings"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// AuthorizerName is the webhook's name in the apiserver's authorizer chain
// (--authorization-mode=...,Webhook).
const AuthorizerName = "webhook"

// Guard's verdicts (authz/providers/azure/rbac/checkaccessreqhelper.go).
const (
	AccessAllowedVerdict    = "Access allowed by Azure RBAC"
	AccessNotAllowedVerdict = "User does not have access to the resource in Azure. Update role assignment to allow access."
	NoOpinionVerdict        = "Azure does not have opinion for this user."
	NonAADUserNoOpVerdict   = "Azure does not have opinion for this non AAD user. If you are an AAD user, please set Extra:oid parameter for impersonated user in the kubeconfig"
)

const clusterType = "Microsoft.ContainerService/managedClusters"

// Request is one authorization request (the SubjectAccessReview spec).
type Request struct {
	User            authn.UserInfo
	Verb            string
	Namespace       string
	APIGroup        string
	Resource        string
	Subresource     string
	Name            string
	ResourceRequest bool
	Path            string
}

// Result is Guard's answer: Allowed, Denied, or neither (no opinion).
type Result struct {
	Allowed, Denied bool
	Reason          string
	// DataAction is the data action checked.
	DataAction string
	Scope      string
	// Assignment and RoleDefinition name the allowing role assignment.
	Assignment     string
	RoleDefinition string
	Loc            source.Location
}

// RoleDefinition is an Azure role's data-plane permissions.
type RoleDefinition struct {
	ID             string
	Name           string
	DataActions    []string
	NotDataActions []string
}

const mc = clusterType + "/"

// BuiltinRoles are the four built-in AKS RBAC roles (MicrosoftDocs
// azure-docs built-in-roles/containers.md), by role definition GUID.
var BuiltinRoles = map[string]*RoleDefinition{
	"7f6c6a51-bcf8-42ba-9220-52d62157d7db": {ID: "7f6c6a51-bcf8-42ba-9220-52d62157d7db", Name: "Azure Kubernetes Service RBAC Reader", DataActions: prefixed(
		"apps/controllerrevisions/read", "apps/daemonsets/read", "apps/deployments/read", "apps/replicasets/read", "apps/statefulsets/read",
		"autoscaling/horizontalpodautoscalers/read", "batch/cronjobs/read", "batch/jobs/read", "configmaps/read",
		"discovery.k8s.io/endpointslices/read", "endpoints/read", "events.k8s.io/events/read", "events/read",
		"extensions/daemonsets/read", "extensions/deployments/read", "extensions/ingresses/read", "extensions/networkpolicies/read", "extensions/replicasets/read",
		"limitranges/read", "metrics.k8s.io/pods/read", "metrics.k8s.io/nodes/read", "namespaces/read",
		"networking.k8s.io/ingresses/read", "networking.k8s.io/networkpolicies/read", "persistentvolumeclaims/read", "pods/read",
		"policy/poddisruptionbudgets/read", "replicationcontrollers/read", "resourcequotas/read", "serviceaccounts/read", "services/read")},
	"a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb": {ID: "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb", Name: "Azure Kubernetes Service RBAC Writer", DataActions: prefixed(
		"apps/controllerrevisions/read", "apps/daemonsets/*", "apps/deployments/*", "apps/replicasets/*", "apps/statefulsets/*",
		"autoscaling/horizontalpodautoscalers/*", "batch/cronjobs/*", "coordination.k8s.io/leases/read", "coordination.k8s.io/leases/write", "coordination.k8s.io/leases/delete",
		"discovery.k8s.io/endpointslices/read", "batch/jobs/*", "configmaps/*", "endpoints/*", "events.k8s.io/events/read", "events/*",
		"extensions/daemonsets/*", "extensions/deployments/*", "extensions/ingresses/*", "extensions/networkpolicies/*", "extensions/replicasets/*",
		"limitranges/read", "metrics.k8s.io/pods/read", "metrics.k8s.io/nodes/read", "namespaces/read",
		"networking.k8s.io/ingresses/*", "networking.k8s.io/networkpolicies/*", "persistentvolumeclaims/*", "pods/*",
		"policy/poddisruptionbudgets/*", "replicationcontrollers/*", "resourcequotas/read", "secrets/*", "serviceaccounts/*", "services/*")},
	"3498e952-d568-435e-9b2c-8d77e338d7f7": {ID: "3498e952-d568-435e-9b2c-8d77e338d7f7", Name: "Azure Kubernetes Service RBAC Admin",
		DataActions:    []string{mc + "*"},
		NotDataActions: prefixed("resourcequotas/write", "resourcequotas/delete", "namespaces/write", "namespaces/delete")},
	"b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": {ID: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", Name: "Azure Kubernetes Service RBAC Cluster Admin",
		DataActions: []string{mc + "*"}},
}

func prefixed(actions ...string) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = mc + a
	}
	return out
}

// Authorizer is the prepared webhook of one cluster.
type Authorizer struct {
	clusterID   string
	assignments []*azure.RoleAssignment
	byPrincipal map[string][]*azure.RoleAssignment
}

// New prepares the webhook from the cluster's role assignments.
func New(e *env.Environment) *Authorizer {
	a := &Authorizer{byPrincipal: map[string][]*azure.RoleAssignment{}}
	if e.Cluster != nil {
		a.clusterID = strings.TrimSuffix(e.Cluster.ID, "/")
	}
	for _, ra := range e.Azure.RoleAssignments {
		if _, ok := BuiltinRoles[ra.RoleDefinitionGUID()]; !ok {
			continue
		}
		a.assignments = append(a.assignments, ra)
		p := strings.ToLower(ra.PrincipalID)
		a.byPrincipal[p] = append(a.byPrincipal[p], ra)
	}
	return a
}

// getActionName is Guard's verb mapping.
func getActionName(verb string) string {
	switch verb {
	case "get", "list", "watch":
		return "read"
	case "bind", "escalate", "use", "impersonate":
		return verb + "/action"
	case "create", "patch", "update":
		return "write"
	case "delete", "deletecollection":
		return "delete"
	case "*":
		return "*"
	}
	return ""
}

// DataAction returns the data action and scope Guard checks for a request.
func (a *Authorizer) DataAction(r *Request) (action, scope string) {
	scope = a.clusterID
	if !r.ResourceRequest {
		return path.Join(clusterType, r.Path, getActionName(r.Verb)), scope
	}
	if r.Namespace != "" {
		scope = path.Join(a.clusterID, "namespaces", r.Namespace)
	}
	id := clusterType
	if r.APIGroup != "" {
		id = path.Join(id, r.APIGroup)
	}
	var act string
	if r.Resource == "pods" && r.Subresource == "exec" {
		act = path.Join(r.Resource, r.Subresource, "action")
	} else {
		act = path.Join(r.Resource, getActionName(r.Verb))
	}
	return path.Join(id, act), scope
}

// Authorize answers a request as Guard does.
func (a *Authorizer) Authorize(r *Request) Result {
	if strings.HasPrefix(strings.ToLower(r.User.Name), "system:") {
		return Result{Reason: NoOpinionVerdict}
	}
	oids, ok := r.User.Extra["oid"]
	if !ok {
		return Result{Reason: NonAADUserNoOpVerdict}
	}
	if !r.ResourceRequest && strings.EqualFold(r.Verb, "get") {
		p := strings.ToLower(r.Path)
		if strings.HasPrefix(p, "/api") || strings.HasPrefix(p, "/openapi") || strings.HasPrefix(p, "/version") || strings.HasPrefix(p, "/healthz") {
			return Result{Allowed: true, Reason: AccessAllowedVerdict}
		}
	}
	action, scope := a.DataAction(r)
	res := Result{DataAction: action, Scope: scope}
	principals := append(append([]string(nil), oids...), r.User.Groups...)
	for _, p := range principals {
		for _, ra := range a.byPrincipal[strings.ToLower(p)] {
			if ra.Condition != nil && *ra.Condition != "" {
				continue // ABAC conditions (CRDs) are not evaluated
			}
			if !scopeCovers(ra.Scope, scope) {
				continue
			}
			rd := BuiltinRoles[ra.RoleDefinitionGUID()]
			if Permits(rd, action) {
				res.Allowed, res.Reason = true, AccessAllowedVerdict
				res.Assignment, res.RoleDefinition, res.Loc = ra.ID, rd.Name, ra.Src
				return res
			}
		}
	}
	res.Denied, res.Reason = true, AccessNotAllowedVerdict
	return res
}

// Permits reports whether a role's DataActions match the action and its
// NotDataActions do not (Azure compares case-insensitively; "*" matches any
// run of characters).
func Permits(rd *RoleDefinition, action string) bool {
	allowed := false
	for _, d := range rd.DataActions {
		if wildcardMatch(d, action) {
			allowed = true
			break
		}
	}
	if !allowed {
		return false
	}
	for _, d := range rd.NotDataActions {
		if wildcardMatch(d, action) {
			return false
		}
	}
	return true
}

func wildcardMatch(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i := 1; i < len(parts)-1; i++ {
		j := strings.Index(s, parts[i])
		if j < 0 {
			return false
		}
		s = s[j+len(parts[i]):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// scopeCovers reports whether an assignment at scope covers target: the
// same resource or a parent of it (management group, subscription,
// resource group, cluster).
func scopeCovers(scope, target string) bool {
	scope, target = strings.ToLower(strings.TrimSuffix(scope, "/")), strings.ToLower(target)
	if scope == "" || target == "" {
		return false
	}
	if scope == "/" || strings.HasPrefix(scope, "/providers/microsoft.management/managementgroups/") {
		return true // tenant root and management groups contain every subscription
	}
	return target == scope || strings.HasPrefix(target, scope+"/")
}

// Assignments returns the AKS RBAC role assignments the webhook knows.
func (a *Authorizer) Assignments() []*azure.RoleAssignment { return a.assignments }

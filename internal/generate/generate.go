// Package generate writes deterministic synthetic snapshots at the scales of
// DESIGN.md ("Scale and performance"), the input of every benchmark.
package generate

import (
	"context"
	"fmt"
)

// Scale is the size of a generated snapshot.
type Scale struct {
	Name            string
	Namespaces      int
	Pods            int
	NetworkPolicies int
	RBACBindings    int
	Users, Groups   int
	Identities      int
	FICs            int
	Vaults          int
}

// Scales are the sizes of DESIGN.md.
var Scales = map[string]Scale{
	"small":  {Name: "small", Namespaces: 5, Pods: 100, NetworkPolicies: 20, RBACBindings: 100, Users: 200, Groups: 20, Identities: 10, FICs: 20, Vaults: 2},
	"medium": {Name: "medium", Namespaces: 50, Pods: 2000, NetworkPolicies: 200, RBACBindings: 1000, Users: 5000, Groups: 500, Identities: 100, FICs: 200, Vaults: 20},
	"large":  {Name: "large", Namespaces: 200, Pods: 20000, NetworkPolicies: 2000, RBACBindings: 10000, Users: 50000, Groups: 5000, Identities: 1000, FICs: 2000, Vaults: 200},
}

// Stats counts what Write wrote.
type Stats struct {
	Files, KubernetesObjects, AzureObjects int
}

// Write writes a snapshot of scale sc into dir, the same for the same seed.
func Write(ctx context.Context, dir string, sc Scale, seed int64) (Stats, error) {
	return Stats{}, fmt.Errorf("generate: not implemented yet")
}

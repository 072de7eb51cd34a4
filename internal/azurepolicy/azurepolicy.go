// Package azurepolicy turns Azure Policy assignments (`az policy assignment
// list`) of the Kubernetes built-in definitions and the two pod-security
// initiatives into Gatekeeper constraints the way the Azure Policy add-on for
// AKS makes them: effect Deny → enforcementAction deny, Audit → dryrun,
// Disabled → no constraint, enforcementMode DoNotEnforce → dryrun;
// namespaces / excludedNamespaces / labelSelector → spec.match, with the
// system namespaces always excluded; parameters → spec.parameters as the
// definition's details.values map them (allowedContainerImagesRegex →
// imageRegex, ...).
//
// akssec ships its own ConstraintTemplates (embedded, templates/*.yaml),
// each written to decide as the published built-in template of the version
// the definition pins. They are akssec's code, not copies of Microsoft's.
package azurepolicy

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/source"
)

//go:embed templates/*.yaml
var templateFS embed.FS

// Template returns an embedded template by file name (without .yaml).
func Template(name string) (*unstructured.Unstructured, error) {
	b, err := templateFS.ReadFile("templates/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no embedded template %s", name)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("embedded template %s: %w", name, err)
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// TemplateNames lists the embedded templates.
func TemplateNames() []string {
	ents, _ := templateFS.ReadDir("templates")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Constraint is one constraint the add-on makes from an assignment.
type Constraint struct {
	Assignment *azure.PolicyAssignment
	// Initiative is set when the assignment assigns a policy set.
	Initiative  *Initiative
	ReferenceID string
	Definition  *Definition
	// TemplateFile is the embedded template (e.g. "container-allowed-images-v2").
	TemplateFile string
	// Effect is the resolved effect (Deny, Audit); EnforcementAction is what
	// the constraint says (deny, dryrun).
	Effect            string
	EnforcementAction string
	// DoNotEnforce is true when the assignment's enforcementMode turned a
	// Deny into dryrun.
	DoNotEnforce bool
	Object       *unstructured.Unstructured
}

// Name is the constraint's metadata.name.
func (c *Constraint) Name() string { return c.Object.GetName() }

// DisplayName names the assignment for people: its display name, with the
// initiative member when it is one.
func (c *Constraint) DisplayName() string {
	name := c.Assignment.DisplayName
	if name == "" {
		name = c.Assignment.Name
	}
	if c.Initiative != nil {
		return name + " / " + c.Definition.DisplayName
	}
	return name
}

// Skipped is an assignment (or member) that makes no constraint, and why.
type Skipped struct {
	Assignment *azure.PolicyAssignment
	Reason     string
}

// Set is what a list of assignments becomes in the cluster.
type Set struct {
	Constraints []*Constraint
	Skipped     []Skipped
	templates   map[string]*unstructured.Unstructured
}

// ByName returns the constraint with the metadata.name, or nil.
func (s *Set) ByName(name string) *Constraint {
	for _, c := range s.Constraints {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// Items returns the templates and constraints for gatekeeper.New; their
// location is the assignment's place in the snapshot.
func (s *Set) Items() (templates, constraints []gatekeeper.Item) {
	names := make([]string, 0, len(s.templates))
	for n := range s.templates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		templates = append(templates, gatekeeper.Item{Loc: source.Location{File: "azurepolicy/templates/" + n + ".yaml"}, Obj: s.templates[n]})
	}
	for _, c := range s.Constraints {
		constraints = append(constraints, gatekeeper.Item{Loc: c.Assignment.Src, Obj: c.Object})
	}
	return templates, constraints
}

// Options say which cluster the assignments are read for.
type Options struct {
	// ClusterID is the managed cluster's resource ID: assignments whose
	// notScopes cover it make no constraint.
	ClusterID string
}

// Build makes the constraints of the assignments.
func Build(assignments []*azure.PolicyAssignment, opts Options) (*Set, error) {
	s := &Set{templates: map[string]*unstructured.Unstructured{}}
	for _, a := range assignments {
		if excludedByNotScopes(a, opts.ClusterID) {
			s.Skipped = append(s.Skipped, Skipped{a, "the cluster is in the assignment's notScopes"})
			continue
		}
		guid := a.DefinitionGUID()
		if a.IsInitiative() {
			ini := Initiatives[guid]
			if ini == nil {
				s.Skipped = append(s.Skipped, Skipped{a, "policy set " + guid + " is not a Kubernetes initiative akssec models"})
				continue
			}
			for _, m := range ini.Members {
				params := map[string]any{}
				for k, v := range m.Parameters {
					params[k] = v
				}
				for k, v := range a.Parameters {
					params[k] = v.Value // the initiative's parameters pass through by name
				}
				if err := s.add(a, ini, m.ReferenceID, m.Definition, m.Template, m.Values, params); err != nil {
					return nil, err
				}
			}
			continue
		}
		def := Definitions[guid]
		if def == nil {
			s.Skipped = append(s.Skipped, Skipped{a, "policy definition " + guid + " is not a Kubernetes built-in akssec models"})
			continue
		}
		params := map[string]any{}
		for k, v := range a.Parameters {
			params[k] = v.Value
		}
		if err := s.add(a, nil, "", def, "", nil, params); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func excludedByNotScopes(a *azure.PolicyAssignment, cluster string) bool {
	if cluster == "" {
		return false
	}
	c := strings.ToLower(cluster)
	for _, ns := range a.NotScopes {
		n := strings.TrimSuffix(strings.ToLower(ns), "/")
		if c == n || strings.HasPrefix(c, n+"/") {
			return true
		}
	}
	return false
}

func (s *Set) add(a *azure.PolicyAssignment, ini *Initiative, ref string, def *Definition, tmplFile string, values map[string]string, params map[string]any) error {
	if def == nil {
		return nil
	}
	if tmplFile == "" {
		tmplFile = def.Template
	}
	if values == nil {
		values = def.Values
	}
	param := func(name string) (any, bool) {
		if v, ok := lookup(params, name); ok {
			return v, true
		}
		return lookup(def.Defaults, name)
	}
	effect := def.DefaultEffect
	if v, ok := param("effect"); ok {
		if e, ok := v.(string); ok && e != "" {
			effect = e
		}
	}
	c := &Constraint{Assignment: a, Initiative: ini, ReferenceID: ref, Definition: def, TemplateFile: tmplFile, Effect: effect}
	switch strings.ToLower(effect) {
	case "deny":
		c.EnforcementAction = gatekeeper.ActionDeny
		if strings.EqualFold(a.EnforcementMode, "DoNotEnforce") {
			c.EnforcementAction, c.DoNotEnforce = gatekeeper.ActionDryRun, true
		}
	case "audit":
		c.EnforcementAction = gatekeeper.ActionDryRun
	case "disabled":
		s.Skipped = append(s.Skipped, Skipped{a, def.DisplayName + ": effect Disabled makes no constraint"})
		return nil
	default:
		s.Skipped = append(s.Skipped, Skipped{a, fmt.Sprintf("%s: effect %q is not an admission effect", def.DisplayName, effect)})
		return nil
	}
	t, ok := s.templates[tmplFile]
	if !ok {
		var err error
		if t, err = Template(tmplFile); err != nil {
			return err
		}
		s.templates[tmplFile] = t
	}
	kind, _, _ := unstructured.NestedString(t.Object, "spec", "crd", "spec", "names", "kind")

	match := map[string]any{}
	var kinds []any
	for _, k := range def.Kinds {
		kinds = append(kinds, map[string]any{"apiGroups": toAny(k.APIGroups), "kinds": toAny(k.Kinds)})
	}
	match["kinds"] = kinds
	excluded := map[string]bool{}
	var exList []any
	addEx := func(n string) {
		if n != "" && !excluded[n] {
			excluded[n] = true
			exList = append(exList, n)
		}
	}
	if v, ok := param("excludedNamespaces"); ok {
		for _, n := range toStrings(v) {
			addEx(n)
		}
	}
	for _, n := range AlwaysExcluded {
		addEx(n)
	}
	match["excludedNamespaces"] = exList
	if v, ok := param("namespaces"); ok {
		if ns := toStrings(v); len(ns) > 0 {
			match["namespaces"] = toAny(ns)
		}
	}
	if v, ok := param("labelSelector"); ok {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			match["labelSelector"] = m
		}
	}
	if v, ok := param("source"); ok {
		if src, ok := v.(string); ok && src != "" {
			match["source"] = src
		}
	}

	cparams := map[string]any{}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := param(values[k]); ok {
			set(cparams, k, v)
		}
	}
	for k, v := range def.Fixed {
		cparams[k] = v
	}

	h := sha256.Sum256([]byte(strings.ToLower(a.ID) + "|" + ref))
	name := constraintName(t.GetName(), hex.EncodeToString(h[:])[:20])
	annotations := map[string]any{
		"azure-policy-assignment-id":    a.ID,
		"azure-policy-definition-id":    "/providers/Microsoft.Authorization/policyDefinitions/" + def.ID,
		"constraint-installed-by":       "azure-policy-addon",
		"azure-policy-setdefinition-id": "",
	}
	if ini != nil {
		annotations["azure-policy-setdefinition-id"] = "/providers/Microsoft.Authorization/policySetDefinitions/" + ini.ID
		annotations["azure-policy-definition-reference-id"] = ref
	} else {
		delete(annotations, "azure-policy-setdefinition-id")
	}
	c.Object = &unstructured.Unstructured{Object: normalize(map[string]any{
		"apiVersion": "constraints.gatekeeper.sh/v1beta1",
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "annotations": annotations},
		"spec": map[string]any{
			"enforcementAction": c.EnforcementAction,
			"match":             match,
			"parameters":        cparams,
		},
	})}
	s.Constraints = append(s.Constraints, c)
	return nil
}

// normalize makes the object JSON-shaped (int64, float64, json.Number),
// as unstructured objects must be.
func normalize(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // only maps, slices and scalars
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	out := map[string]any{}
	if err := dec.Decode(&out); err != nil {
		panic(err)
	}
	return out
}

// lookup reads a dotted path ("allowedHostPaths.paths").
func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// set writes a dotted path.
func set(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func toStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// constraintName names a constraint as the add-on does:
// azurepolicy-<template name, cut to 30 bytes>-<20 hex digits>, at most
// 63 bytes, which Gatekeeper requires of constraint names (the add-on's
// constraints in Azure/AKS#4769 read azurepolicy-k8sazurev1blockdefault-
// 412ab5a03df011a5e8c6; older add-ons used the definition's template
// path, cut the same way: azurepolicy-container-disallowed-capabilit-
// 974fdccb386c73cd0fd6 in Azure/AKS#2763). The hash is akssec's own: the
// add-on's input to it is not published.
func constraintName(template, hash string) string {
	const maxPart = 63 - len("azurepolicy-") - 1 - 20
	if len(template) > maxPart {
		template = template[:maxPart]
	}
	return "azurepolicy-" + template + "-" + hash
}

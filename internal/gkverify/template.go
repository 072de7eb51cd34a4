package gkverify

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	templatesv1 "github.com/akssec/akssec/internal/gkverify/internal/v1"
)

// checkTemplate is what gator and the frameworks client check of a
// template before compiling its code (reader.ToTemplate, then
// Client.AddTemplate: one target, with a name; the kind, and the name
// equal to it but for case; a known target).
func checkTemplate(tmpl *unstructured.Unstructured, path string) error {
	b, err := json.Marshal(tmpl.Object)
	if err != nil {
		return err
	}
	// gator decodes the file into the typed template first, so a field
	// of the wrong type is an error before anything else.
	var ts templatesv1.ConstraintTemplate
	if err := json.Unmarshal(b, &ts); err != nil {
		return fmt.Errorf("path %q: %w: %w", path, ErrAddingTemplate, err)
	}
	targets := ts.Spec.Targets
	if len(targets) != 1 {
		return fmt.Errorf("%w: invalid ConstraintTemplate: must declare exactly one target", ErrAddingTemplate)
	}
	if targets[0].Target == "" {
		return fmt.Errorf("%w: invalid ConstraintTemplate: target name must not be empty", ErrAddingTemplate)
	}
	kind := ts.Spec.CRD.Spec.Names.Kind
	if kind == "" {
		return fmt.Errorf("%w: invalid ConstraintTemplate: ConstraintTemplate %q does not specify CRD Kind", ErrAddingTemplate, tmpl.GetName())
	}
	if !strings.EqualFold(tmpl.GetName(), kind) {
		return fmt.Errorf("%w: invalid ConstraintTemplate: the ConstraintTemplate's name %q is not equal to the lowercase of CRD's Kind: %q", ErrAddingTemplate, tmpl.GetName(), strings.ToLower(kind))
	}
	if targets[0].Target != targetName {
		return fmt.Errorf("%w: invalid ConstraintTemplate: target %q not recognized, known targets %v", ErrAddingTemplate, targets[0].Target, []string{targetName})
	}
	return nil
}

// regoErrors matches the start of OPA's parse and compile error lists,
// which the frameworks client reports as they are (the engine prefixes
// them with "invalid rego: ").
var regoErrors = regexp.MustCompile(`^invalid rego: [0-9]+ errors? occurred`)

// templateProblem words an engine problem with a template as the client
// words it.
func templateProblem(tmpl *unstructured.Unstructured, msg string) error {
	msg = strings.TrimPrefix(msg, "template "+tmpl.GetName()+": ")
	if regoErrors.MatchString(msg) {
		msg = strings.TrimPrefix(msg, "invalid rego: ")
	}
	return fmt.Errorf("%w: invalid ConstraintTemplate: %s", ErrAddingTemplate, msg)
}

// Package emulator_test holds the dependency rule of the emulators: they
// decide through small interfaces (entra.Federation, keyvault.Authorizer)
// and never import a layer engine; internal/lab wires the engines in.
package emulator_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestNoLayerEngineImports(t *testing.T) {
	forbidden := []string{
		"github.com/akssec/akssec/internal/workloadid",
		"github.com/akssec/akssec/internal/keyvault",
		"github.com/akssec/akssec/internal/env",
		"github.com/akssec/akssec/internal/cli",
	}
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(d.Name(), "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbidden {
					if p == bad {
						t.Errorf("%s imports %s: emulators decide through interfaces; wire engines in internal/lab", f, p)
					}
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d files, the rule would be vacuous", checked)
	}
}

package azurepolicy

import (
	"context"
	"testing"

	"github.com/akssec/akssec/internal/gatekeeper"
)

func TestEmbeddedTemplatesCompile(t *testing.T) {
	var items []gatekeeper.Item
	for _, n := range TemplateNames() {
		u, err := Template(n)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, gatekeeper.Item{Obj: u})
	}
	e, err := gatekeeper.New(context.Background(), items, nil, gatekeeper.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range e.Problems() {
		t.Errorf("%s", p)
	}
	if got, want := len(e.Templates()), len(TemplateNames()); got != want {
		t.Errorf("compiled %d templates, want %d", got, want)
	}
}

package snapshot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/akssec/akssec/internal/azure"
)

// seedFiles adds every testdata and example file as a fuzz seed.
func seedFiles(f *testing.F) {
	for _, glob := range []string{"testdata/invalid/*", example + "/kubernetes/*", example + "/azure/*.json", example + "/manifests/*"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzKubernetesFile: any bytes either load or give errors; never a panic,
// and every loaded object has a kind, a name and a line.
func FuzzKubernetesFile(f *testing.F) {
	seedFiles(f)
	lim := Limits{MaxDocuments: 1000}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		var docs []rawDoc
		var err error
		if isJSON(data) {
			docs, err = splitJSON("f", data, lim)
		} else {
			docs, err = splitYAML("f", data, lim)
		}
		if err != nil {
			return
		}
		for _, d := range docs {
			o, err := decodeObject(d)
			if err != nil {
				continue
			}
			if o.Kind == "" || o.Name == "" || o.Loc.Line < 1 {
				t.Fatalf("object without kind, name or line: %+v", o)
			}
		}
	})
}

// FuzzAzureFile: az output of any command either decodes or errors.
func FuzzAzureFile(f *testing.F) {
	seedFiles(f)
	lim := DefaultLimits
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range commandKinds {
			d := new(struct{ Data azure.Data })
			_ = loadAzureFile(&d.Data, "azure/x.json", azCommand{kind: kind, arg: "x"}, data, lim)
		}
		_, _ = sniff(data)
		_, _ = parseIndex(data)
	})
}

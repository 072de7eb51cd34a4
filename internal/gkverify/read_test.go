package gkverify

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const suiteYAML = "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests:\n- name: t\n  template: t.yaml\n  constraint: c.yaml\n"

// From gator's read_suites.go: a file, a directory (its own YAML files), a
// tree with "/..."; files that are not Suites are ignored; the group and
// kind decide, not the version.
func TestReadSuites(t *testing.T) {
	fsys := fstest.MapFS{
		"repo/suite.yaml":              {Data: []byte(suiteYAML)},
		"repo/notes.txt":               {Data: []byte(suiteYAML)},
		"repo/config.yaml":             {Data: []byte("apiVersion: v1\nkind: ConfigMap\n")},
		"repo/other-version.yml":       {Data: []byte(strings.Replace(suiteYAML, "v1alpha1", "v9", 1))},
		"repo/sub/suite.yaml":          {Data: []byte(suiteYAML)},
		"repo/sub/deeper/b-suite.yaml": {Data: []byte(suiteYAML)},
	}
	tests := []struct {
		name    string
		target  Target
		want    []string // InputPath of each Suite
		wantErr error
	}{
		{name: "file", target: Target{Path: "repo/suite.yaml", Original: "suite.yaml"}, want: []string{"suite.yaml"}},
		{name: "directory", target: Target{Path: "repo", Original: "repo"}, want: []string{"repo/other-version.yml", "repo/suite.yaml"}},
		{name: "tree", target: Target{Path: "repo", Original: "./repo/", Recursive: true},
			want: []string{"./repo/other-version.yml", "./repo/sub/deeper/b-suite.yaml", "./repo/sub/suite.yaml", "./repo/suite.yaml"}},
		{name: "not YAML", target: Target{Path: "repo/notes.txt", Original: "notes.txt"}, wantErr: ErrUnsupportedExt},
		{name: "file walked", target: Target{Path: "repo/suite.yaml", Original: "suite.yaml", Recursive: true}, wantErr: ErrNotADirectory},
		{name: "file that is not a Suite", target: Target{Path: "repo/config.yaml", Original: "config.yaml"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.target.FS = fsys
			suites, err := ReadSuites(tc.target)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ReadSuites() = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range suites {
				got = append(got, s.InputPath)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("InputPaths (-want +got):\n%s", diff)
			}
		})
	}
}

// A Suite that does not parse is bad input naming the file and, for a
// field of the wrong type, its line.
func TestReadSuitesErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"violations of wrong type", suiteYAML + "  cases:\n  - name: c\n    object: o.yaml\n    assertions:\n    - violations: true\n", "/s.yaml:11:"},
		{"tests not a list", "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests: {}\n", "/s.yaml:3:"},
		{"YAML syntax", "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests: [\n", "line 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"s.yaml": {Data: []byte(tc.data)}}
			_, err := ReadSuites(Target{FS: fsys, Path: "s.yaml", Original: "s.yaml"})
			if !errors.Is(err, ErrInvalidYAML) {
				t.Fatalf("ReadSuites() = %v, want %v", err, ErrInvalidYAML)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadSuites() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// gator splits case files at "\n---" and drops blank and comment lines.
func TestReadUnstructureds(t *testing.T) {
	data := "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n"
	objs, err := readUnstructureds([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if diff := cmp.Diff([]string{"ConfigMap/a", "Secret/b"}, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if _, err := readUnstructureds([]byte("apiVersion: v1\nmetadata: {name: a}\n")); !errors.Is(err, ErrInvalidYAML) {
		t.Errorf("an object without kind: err = %v, want %v", err, ErrInvalidYAML)
	}
}

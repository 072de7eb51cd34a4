package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// The CLI end-to-end tests are scripts (testdata/script/*.txtar): each runs
// akssec as a user would, in a fresh directory with its embedded files, and
// checks stdout, stderr and the exit code.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"akssec": func() {
			os.Exit(Run(context.Background(), os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
		},
	})
}

func TestScripts(t *testing.T) {
	example, err := filepath.Abs("../../examples/contoso-bank")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("EXAMPLE", example)
			env.Setenv("REPO", filepath.Dir(filepath.Dir(example)))
			return nil
		},
	})
}

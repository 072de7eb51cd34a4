// Package cli is akssec's command line: one file per command, each with a
// private params struct validated before it runs. Only this package reads
// flags, prints and chooses exit codes; the library packages it calls are
// silent.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// Streams are the standard streams a command uses.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Exit codes (DESIGN.md "Commands").
const (
	ExitOK     = 0 // ok, allowed, no findings at or above --fail-on
	ExitDenied = 1 // denied, findings at or above --fail-on, assertion failed
	ExitUsage  = 2 // bad input or usage
)

// exitError carries an exit code and, optionally, a message for stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageErrorf is a bad-input error: exit 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// deny ends a command with exit 1 and no further message (the command has
// printed its answer).
var errDenied = &exitError{code: ExitDenied}

// globalOptions are the flags every command shares.
type globalOptions struct {
	envDir    string
	output    string
	namespace string
	keepGoing bool
	streams   Streams
}

// Run runs akssec with args and returns the process exit code.
func Run(ctx context.Context, args []string, streams Streams) int {
	root := newRootCommand(streams)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(streams.Err, "error:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(streams.Err, "error:", err)
	var le *snapshot.LoadError
	if errors.As(err, &le) || isUsage(err) {
		return ExitUsage
	}
	if ctx.Err() != nil {
		return 130 // interrupted, as a shell reports SIGINT
	}
	return ExitUsage
}

// isUsage recognizes cobra's own argument and flag errors.
func isUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func newRootCommand(streams Streams) *cobra.Command {
	g := &globalOptions{streams: streams}
	root := &cobra.Command{
		Use:   "akssec",
		Short: "Check, explain and enforce the defense-in-depth of AKS clusters",
		Long: `akssec decides every security layer of an Azure Kubernetes Service cluster
exactly as the real component does (Entra ID, API server authentication,
Kubernetes and Azure RBAC, network policy, Pod Security Admission and Azure
Policy, workload identity and Key Vault, images) and joins them into one graph.

It reads a snapshot directory: kubernetes/ (kubectl get -o yaml|json output)
and azure/ (az CLI JSON output). See the README for the format.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.envDir, "env", "e", "", "snapshot directory (default $AKSSEC_ENV, else .)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format")
	root.PersistentFlags().StringVarP(&g.namespace, "namespace", "n", "", "namespace scope")
	root.PersistentFlags().BoolVar(&g.keepGoing, "keep-going", false, "load every good file even when others have errors, and list what was skipped")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })

	root.AddCommand(
		newVersionCommand(g),
		newInventoryCommand(g),
		newGenerateCommand(g),
	)
	// Layer commands register here, one line each.
	root.AddCommand(layerCommands(g)...)
	return root
}

// envDir resolves the snapshot directory: the flag, else $AKSSEC_ENV, else ".".
func (g *globalOptions) dir() string {
	if g.envDir != "" {
		return g.envDir
	}
	if v := os.Getenv("AKSSEC_ENV"); v != "" {
		return v
	}
	return "."
}

// loadEnv loads and indexes the snapshot, with progress on a terminal.
func (g *globalOptions) loadEnv(ctx context.Context) (*env.Environment, error) {
	opts := snapshot.Options{KeepGoing: g.keepGoing}
	if isTerminal(g.streams.Err) {
		opts.Progress = progress(g.streams.Err, "loading")
	}
	s, err := snapshot.Load(ctx, g.dir(), opts)
	if err != nil {
		return nil, err
	}
	for _, f := range s.Skipped {
		fmt.Fprintf(g.streams.Err, "warning: skipped %s (it has errors; see akssec inventory)\n", f)
	}
	return env.New(s), nil
}

// checkOutput validates -o against the formats a command supports.
func (g *globalOptions) checkOutput(formats ...string) error {
	for _, f := range formats {
		if g.output == f {
			return nil
		}
	}
	return usageErrorf("output format %q is not supported here, expected one of %s", g.output, strings.Join(formats, ", "))
}

// writeJSON writes v as indented JSON, the -o json form of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// openInput opens a batch input: a file, or standard input for "-".
func (g *globalOptions) openInput(file string) (io.ReadCloser, error) {
	if file == "-" {
		return io.NopCloser(g.streams.In), nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return f, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress returns a callback that redraws "what done/total" on one line.
func progress(w io.Writer, what string) func(done, total int) {
	last := -1
	return func(done, total int) {
		if total == 0 {
			return
		}
		pct := done * 100 / total
		if pct == last {
			return
		}
		last = pct
		fmt.Fprintf(w, "\r%s %d/%d files (%d%%)", what, done, total, pct)
		if done == total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}

package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// AzRunner runs one az command and returns what it printed on stdout.
type AzRunner interface {
	Run(ctx context.Context, args []string) ([]byte, error)
}

// ExecAz runs the az CLI at Path (found on PATH when empty).
type ExecAz struct{ Path string }

// Run runs az with args. The error carries az's stderr, which is where az
// explains a failure (never a secret: the commands akssec runs read no
// values).
func (e ExecAz) Run(ctx context.Context, args []string) ([]byte, error) {
	p := e.Path
	if p == "" {
		p = "az"
	}
	cmd := exec.CommandContext(ctx, p, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		if msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// AzureOptions say which cluster the azure/ part is about.
type AzureOptions struct {
	// ResourceGroup and ClusterName name the AKS cluster for az aks show;
	// when either is empty, aks.json is not collected (and says so).
	ResourceGroup, ClusterName string
	// Subscription, when set, is passed to the subscription-scoped commands.
	Subscription string
	// Progress, when set, is called after each az command.
	Progress func(AzureStep)
}

// AzureStep is one az command run for the snapshot.
type AzureStep struct {
	File    string `json:"file,omitempty"` // written, relative to azure/
	Command string `json:"command"`
	Error   string `json:"error,omitempty"`
}

// AzureResult is what the azure/ part holds.
type AzureResult struct {
	Source string      `json:"source"` // "az" or the directory copied from
	Files  []string    `json:"files"`  // relative to azure/
	Steps  []AzureStep `json:"steps,omitempty"`
}

// Failed lists the steps that failed.
func (r *AzureResult) Failed() []AzureStep {
	var out []AzureStep
	for _, s := range r.Steps {
		if s.Error != "" {
			out = append(out, s)
		}
	}
	return out
}

// Azure runs the az commands of the snapshot format and writes their output
// unchanged under dir/azure/, with azure/index.yaml naming the command of
// each file. A command that fails (no permission on Microsoft Graph, no
// data-plane access to a vault) is recorded and skipped; the rest goes on.
func Azure(ctx context.Context, dir string, az AzRunner, opts AzureOptions) (*AzureResult, error) {
	c := &azCollector{ctx: ctx, root: filepath.Join(dir, "azure"), az: az, opts: opts, index: map[string]string{}}
	res := &AzureResult{Source: "az"}
	c.res = res
	sub := func(args ...string) []string {
		if opts.Subscription != "" {
			args = append(args, "--subscription", opts.Subscription)
		}
		return args
	}
	if opts.ResourceGroup != "" && opts.ClusterName != "" {
		c.file("aks.json", sub("aks", "show", "--resource-group", opts.ResourceGroup, "--name", opts.ClusterName))
	} else {
		c.step(AzureStep{Command: "az aks show", Error: "not run: give the cluster's resource group and name"})
	}
	c.file("users.json", []string{"ad", "user", "list"})
	if groups, ok := c.file("groups.json", []string{"ad", "group", "list"}); ok {
		for _, g := range c.objects(groups, "id") {
			c.file("members/"+g["id"]+".json", []string{"ad", "group", "member", "list", "--group", g["id"]})
		}
	}
	c.file("service-principals.json", []string{"ad", "sp", "list", "--all"})
	if ids, ok := c.file("identities.json", sub("identity", "list")); ok {
		for _, id := range c.objects(ids, "name", "resourceGroup") {
			c.file("federated-credentials/"+id["name"]+".json",
				sub("identity", "federated-credential", "list", "--identity-name", id["name"], "--resource-group", id["resourceGroup"]))
		}
	}
	if vaults, err := c.run(sub("keyvault", "list", "--resource-type", "vault")); err == nil {
		for _, v := range c.objects(vaults, "name") {
			c.file("keyvaults/"+v["name"]+".json", sub("keyvault", "show", "--name", v["name"]))
			c.file("keyvaults/"+v["name"]+".secrets.json", []string{"keyvault", "secret", "list", "--vault-name", v["name"]})
		}
	}
	c.file("role-assignments.json", sub("role", "assignment", "list", "--all"))
	c.file("policy-assignments.json", sub("policy", "assignment", "list", "--disable-scope-strict-match"))
	if c.err != nil {
		return res, c.err
	}
	if err := writeIndex(c.root, c.index); err != nil {
		return res, err
	}
	sort.Strings(res.Files)
	return res, nil
}

type azCollector struct {
	ctx   context.Context
	root  string
	az    AzRunner
	opts  AzureOptions
	index map[string]string
	res   *AzureResult
	err   error // a write error: fatal
}

func (c *azCollector) step(s AzureStep) {
	c.res.Steps = append(c.res.Steps, s)
	if c.opts.Progress != nil {
		c.opts.Progress(s)
	}
}

// run runs a command whose output is only read (az keyvault list).
func (c *azCollector) run(args []string) ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	line := commandLine(args)
	out, err := c.az.Run(c.ctx, append(args, "--output", "json"))
	if err == nil && !json.Valid(out) {
		err = errors.New("az printed something that is not JSON")
	}
	if err != nil {
		c.step(AzureStep{Command: line, Error: err.Error()})
		return nil, err
	}
	c.step(AzureStep{Command: line})
	return out, nil
}

// file runs a command and writes its output unchanged to rel.
func (c *azCollector) file(rel string, args []string) ([]byte, bool) {
	if c.err != nil || c.ctx.Err() != nil {
		if c.err == nil {
			c.err = c.ctx.Err()
		}
		return nil, false
	}
	line := commandLine(args)
	if err := safeRel(rel); err != nil {
		c.step(AzureStep{Command: line, Error: err.Error()})
		return nil, false
	}
	out, err := c.az.Run(c.ctx, append(args, "--output", "json"))
	if err == nil && !json.Valid(out) {
		err = errors.New("az printed something that is not JSON")
	}
	if err != nil {
		if c.ctx.Err() != nil {
			c.err = c.ctx.Err()
		}
		c.step(AzureStep{File: rel, Command: line, Error: err.Error()})
		return nil, false
	}
	p := filepath.Join(c.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.err = err
		return nil, false
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		c.err = fmt.Errorf("writing %s: %w", p, err)
		return nil, false
	}
	c.index[rel] = line
	c.res.Files = append(c.res.Files, rel)
	c.step(AzureStep{File: rel, Command: line})
	return out, true
}

// objects reads the string fields of each element of an az JSON array,
// keeping only elements that have all of them.
func (c *azCollector) objects(data []byte, fields ...string) []map[string]string {
	var arr []map[string]any
	if err := json.Unmarshal(data, &arr); err != nil {
		return nil
	}
	var out []map[string]string
	for _, o := range arr {
		m := map[string]string{}
		for _, f := range fields {
			s, _ := o[f].(string)
			if s == "" {
				break
			}
			m[f] = s
		}
		if len(m) == len(fields) {
			out = append(out, m)
		}
	}
	return out
}

// safeRel refuses a file name made from a server-given name that would
// leave its directory.
func safeRel(rel string) error {
	for _, part := range strings.Split(rel, "/") {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `\:`) {
			return fmt.Errorf("%q cannot name a file in the snapshot", rel)
		}
	}
	return nil
}

// commandLine renders args as the az command line the index records,
// quoting words with spaces as the snapshot loader's parser expects.
func commandLine(args []string) string {
	words := []string{"az"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"") {
			a = "'" + strings.ReplaceAll(a, "'", "") + "'"
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// azureIndex is azure/index.yaml (internal/snapshot AzureIndex).
type azureIndex struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Files      map[string]string `json:"files"`
}

func writeIndex(root string, files map[string]string) error {
	if len(files) == 0 {
		return nil
	}
	b, err := yaml.Marshal(azureIndex{APIVersion: "akssec.io/v1alpha1", Kind: "AzureIndex", Files: files})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "index.yaml"), b, 0o644)
}

// CopyAzure copies an azure/ part collected elsewhere (by hand, or by a
// colleague with access to the subscription) into dir/azure/. from may be
// the azure directory itself or a snapshot holding one. Only .json, .yaml
// and .yml files are copied; symbolic links are not followed.
func CopyAzure(dir, from string) (*AzureResult, error) {
	src := from
	if st, err := os.Stat(filepath.Join(from, "azure")); err == nil && st.IsDir() {
		src = filepath.Join(from, "azure")
	}
	if st, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("reading the Azure part: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("reading the Azure part: %s is not a directory", src)
	}
	res := &AzureResult{Source: from}
	dst := filepath.Join(dir, "azure")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != src && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json", ".yaml", ".yml":
		default:
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return err
		}
		res.Files = append(res.Files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("copying the Azure part from %s: %w", from, err)
	}
	sort.Strings(res.Files)
	return res, nil
}

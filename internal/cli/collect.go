package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/akssec/akssec/internal/collect"
)

// kubeFlags are the kubectl connection flags (a subset of kubectl's
// genericclioptions), resolved by client-go's clientcmd exactly as kubectl
// resolves them: --kubeconfig, else $KUBECONFIG, else ~/.kube/config.
type kubeFlags struct {
	kubeconfig, context, cluster, user, server, token string
	certificateAuthority                              string
	insecure                                          bool
	as                                                string
	asGroups                                          []string
	requestTimeout                                    time.Duration
}

func (k *kubeFlags) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	f.StringVar(&k.context, "context", "", "the kubeconfig context to use")
	f.StringVar(&k.cluster, "cluster", "", "the kubeconfig cluster to use")
	f.StringVar(&k.user, "user", "", "the kubeconfig user to use")
	f.StringVarP(&k.server, "server", "s", "", "the address of the Kubernetes API server")
	f.StringVar(&k.token, "token", "", "bearer token for authentication to the API server")
	f.StringVar(&k.certificateAuthority, "certificate-authority", "", "path to a CA certificate file for the API server")
	f.BoolVar(&k.insecure, "insecure-skip-tls-verify", false, "do not verify the API server's certificate (insecure)")
	f.StringVar(&k.as, "as", "", "user to impersonate")
	f.StringArrayVar(&k.asGroups, "as-group", nil, "group to impersonate, repeatable")
	f.DurationVar(&k.requestTimeout, "request-timeout", 0, "timeout of one request (0: none)")
}

func (k *kubeFlags) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	ov := &clientcmd.ConfigOverrides{CurrentContext: k.context}
	ov.Context.Cluster = k.cluster
	ov.Context.AuthInfo = k.user
	ov.ClusterInfo.Server = k.server
	ov.ClusterInfo.CertificateAuthority = k.certificateAuthority
	ov.ClusterInfo.InsecureSkipTLSVerify = k.insecure
	ov.AuthInfo.Token = k.token
	ov.AuthInfo.Impersonate = k.as
	ov.AuthInfo.ImpersonateGroups = k.asGroups
	if k.requestTimeout > 0 {
		ov.Timeout = k.requestTimeout.String()
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, ov).ClientConfig()
	if err != nil {
		return nil, err
	}
	// A collection is many sequential lists; client-go's default 5 qps
	// would make it crawl.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "akssec-collect"
	return cfg, nil
}

type collectParams struct {
	g             *globalOptions
	kube          kubeFlags
	dir           string
	overwrite     bool
	pageSize      int64
	azureFrom     string
	noAzure       bool
	resourceGroup string
	clusterName   string
	subscription  string
}

func newCollectCommand(g *globalOptions) *cobra.Command {
	p := &collectParams{g: g}
	cmd := &cobra.Command{
		Use:   "collect -o DIR",
		Short: "Write a snapshot of a live cluster and its Azure side",
		Long: `collect lists every kind akssec reads from the cluster of the current kubeconfig
context (kubectl's flags choose another) and writes a snapshot directory
(kubernetes/ and azure/) that every other command reads offline.

Secrets are written as metadata, type and key names only: every value is
emptied and the last-applied annotation dropped. Kinds you may not list are
reported and skipped. The azure/ part comes from running the az CLI when it
is on PATH (give --resource-group and --name for az aks show), or is copied
from --azure-from DIR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := p.validate(); err != nil {
				return err
			}
			return p.run(cmd.Context())
		},
	}
	p.kube.bind(cmd)
	f := cmd.Flags()
	// -o names the directory here (it shadows the global output format,
	// which collect has no use for).
	f.StringVarP(&p.dir, "output", "o", "", "directory to write the snapshot to (required)")
	f.BoolVar(&p.overwrite, "overwrite", false, "replace kubernetes/ and azure/ when DIR already holds a snapshot")
	f.Int64Var(&p.pageSize, "chunk-size", collect.DefaultPageSize, "objects per list request, as kubectl --chunk-size")
	f.StringVar(&p.azureFrom, "azure-from", "", "copy the azure/ part from this directory instead of running az")
	f.BoolVar(&p.noAzure, "no-azure", false, "collect the Kubernetes part only")
	f.StringVarP(&p.resourceGroup, "resource-group", "g", "", "the AKS cluster's resource group (for az aks show)")
	f.StringVar(&p.clusterName, "name", "", "the AKS cluster's name (for az aks show)")
	f.StringVar(&p.subscription, "subscription", "", "the Azure subscription (default: az's current one)")
	return cmd
}

func (p *collectParams) validate() error {
	if p.dir == "" {
		return usageErrorf("collect needs -o DIR, the directory to write the snapshot to")
	}
	if p.pageSize <= 0 {
		return usageErrorf("--chunk-size must be positive, got %d", p.pageSize)
	}
	if p.noAzure && p.azureFrom != "" {
		return usageErrorf("--no-azure and --azure-from contradict each other")
	}
	if (p.resourceGroup == "") != (p.clusterName == "") {
		return usageErrorf("give both --resource-group and --name, or neither")
	}
	if p.azureFrom != "" {
		if st, err := os.Stat(p.azureFrom); err != nil || !st.IsDir() {
			return usageErrorf("--azure-from %s: not a directory", p.azureFrom)
		}
	}
	return nil
}

func (p *collectParams) run(ctx context.Context) error {
	errw := p.g.streams.Err
	cfg, err := p.kube.restConfig()
	if err != nil {
		return usageErrorf("connecting to the cluster: %v", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return usageErrorf("connecting to the cluster: %v", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return usageErrorf("connecting to the cluster: %v", err)
	}
	if err := collect.Prepare(p.dir, p.overwrite); err != nil {
		if errors.Is(err, collect.ErrSnapshotExists) {
			return usageErrorf("%v; choose an empty directory or pass --overwrite", err)
		}
		return err
	}
	fmt.Fprintf(errw, "collecting from %s into %s\n", cfg.Host, p.dir)
	// Discovery failing for some groups (an unavailable aggregated API)
	// still returns the others.
	resources, derr := disc.ServerPreferredResources()
	if derr != nil && len(resources) == 0 {
		return fmt.Errorf("discovering the API server's resources: %w", derr)
	}
	if derr != nil {
		fmt.Fprintf(errw, "warning: discovery was partial: %v\n", derr)
	}
	kinds := collect.Kinds(resources)
	res, err := collect.Kubernetes(ctx, p.dir, collect.DynamicLister(dyn), kinds, collect.Options{
		PageSize: p.pageSize,
		Progress: func(pr collect.Progress) {
			switch {
			case pr.Skipped != "":
				fmt.Fprintf(errw, "  %-45s skipped: %s\n", pr.Kind, pr.Skipped)
			case pr.Done:
				fmt.Fprintf(errw, "  %-45s %d\n", pr.Kind, pr.Objects)
			}
		},
	})
	if err != nil {
		return err
	}
	switch {
	case p.noAzure:
	case p.azureFrom != "":
		a, err := collect.CopyAzure(p.dir, p.azureFrom)
		if err != nil {
			return err
		}
		res.Azure = a
		fmt.Fprintf(errw, "copied %d Azure files from %s\n", len(a.Files), p.azureFrom)
	default:
		az, err := exec.LookPath("az")
		if err != nil {
			fmt.Fprintln(errw, "az is not on PATH: the snapshot has no azure/ part (use --azure-from DIR to add one)")
			break
		}
		a, err := collect.Azure(ctx, p.dir, collect.ExecAz{Path: az}, collect.AzureOptions{
			ResourceGroup: p.resourceGroup, ClusterName: p.clusterName, Subscription: p.subscription,
			Progress: func(s collect.AzureStep) {
				if s.Error != "" {
					fmt.Fprintf(errw, "  %-45s failed: %s\n", s.Command, s.Error)
				} else if s.File != "" {
					fmt.Fprintf(errw, "  %-45s azure/%s\n", s.Command, s.File)
				}
			},
		})
		res.Azure = a
		if err != nil {
			return err
		}
	}
	if err := writeCollectReport(p.dir, res); err != nil {
		return err
	}
	skipped := res.Skipped()
	fmt.Fprintf(errw, "wrote %d objects of %d kinds to %s", res.Objects, len(res.Kinds)-len(skipped), p.dir)
	if len(skipped) > 0 {
		fmt.Fprintf(errw, " (%d kinds skipped, see %s)", len(skipped), filepath.Join(p.dir, "collect-report.json"))
	}
	fmt.Fprintln(errw)
	return nil
}

// writeCollectReport records what was and was not collected beside the
// snapshot (the loader reads only kubernetes/ and azure/).
func writeCollectReport(dir string, res *collect.Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "collect-report.json"), append(b, '\n'), 0o644)
}

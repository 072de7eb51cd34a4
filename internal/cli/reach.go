package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/netpol"
)

type reachParams struct {
	g     *globalOptions
	file  string
	proto string
}

func newReachCommand(g *globalOptions) *cobra.Command {
	p := &reachParams{g: g}
	cmd := &cobra.Command{
		Use:   "reach SRC DST[:PORT[/PROTO]]",
		Short: "Decide whether SRC may connect to DST, with the deciding policy and rule for egress and ingress",
		Long: `Decide a connection exactly as the cluster's network policy engine does
(networkProfile.networkPolicy: azure NPM, calico, cilium, none; upstream
semantics without aks.json).

SRC and DST: ns/pod, ns/deployment/name (and statefulset, daemonset,
replicaset, job, cronjob), ns/service/name, an IP address, internet, node
(the destination pod's own node) or node/NAME. PORT is a number or a name (a
Service port or a container port); PROTO is TCP (default), UDP or SCTP.
Without a port, any port counts.

Batch: -f queries.jsonl reads one JSON query per line,
{"from","to","port","protocol"}, and prints one JSON answer per line:
{allowed, egress:{allowed, policies}, ingress:{allowed, policies}, plugin}.

Exit 0 when allowed, 1 when denied (in batch: when any is denied), 2 on bad input.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if p.file != "" {
				if len(args) != 0 {
					return usageErrorf("reach -f takes no arguments")
				}
				return p.batch(cmd.Context())
			}
			if len(args) != 2 {
				return usageErrorf("reach needs SRC and DST[:PORT[/PROTO]]")
			}
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			return p.one(cmd.Context(), args[0], args[1])
		},
	}
	cmd.Flags().StringVarP(&p.file, "file", "f", "", "batch: JSON lines of {from,to,port,protocol} (- for stdin)")
	cmd.Flags().StringVar(&p.proto, "protocol", "", "protocol when DST has no /PROTO (TCP, UDP, SCTP)")
	return cmd
}

func (p *reachParams) one(ctx context.Context, src, dstSpec string) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	dst, port, proto := netpol.SplitPort(dstSpec)
	if proto == "" {
		proto = p.proto
	}
	en := netpol.New(e)
	ans, err := en.Ask(netpol.Query{From: src, To: dst, Port: port, Protocol: proto, Namespace: p.g.namespace})
	if err != nil {
		return usageErrorf("%v", err)
	}
	out := p.g.streams.Out
	if p.g.output == "json" {
		if err := writeJSON(out, reachJSON(ans)); err != nil {
			return err
		}
	} else {
		writeAnswer(out, src, dstSpec, ans)
	}
	if !ans.Allowed {
		return errDenied
	}
	return nil
}

// reachLine is one answer of the batch mode.
type reachLine struct {
	Allowed      bool         `json:"allowed"`
	Egress       reachDirLine `json:"egress"`
	Ingress      reachDirLine `json:"ingress"`
	Plugin       string       `json:"plugin"`
	Ports        string       `json:"ports,omitempty"`
	Pairs        int          `json:"pairs,omitempty"`
	AllowedPairs int          `json:"allowedPairs,omitempty"`
	Notes        []string     `json:"notes,omitempty"`
	Error        string       `json:"error,omitempty"`
}

type reachDirLine struct {
	Allowed     bool             `json:"allowed"`
	Reason      string           `json:"reason,omitempty"`
	Policies    []netpol.RuleRef `json:"policies"`
	Conditional string           `json:"conditional,omitempty"`
}

func reachJSON(a netpol.Answer) reachLine {
	dir := func(d netpol.DirectionVerdict) reachDirLine {
		ps := d.Policies
		if ps == nil {
			ps = []netpol.RuleRef{}
		}
		return reachDirLine{Allowed: d.Allowed, Reason: d.Reason, Policies: ps, Conditional: d.Conditional}
	}
	l := reachLine{Allowed: a.Allowed, Egress: dir(a.Verdict.Egress), Ingress: dir(a.Verdict.Ingress), Plugin: a.Verdict.Plugin,
		Ports: a.Verdict.Ports.String(), Notes: append(append([]string{}, a.Notes...), a.Verdict.Notes...)}
	if a.Pairs > 1 {
		l.Pairs, l.AllowedPairs = a.Pairs, a.AllowedPairs
	}
	return l
}

func (p *reachParams) batch(ctx context.Context) error {
	in, err := p.g.openInput(p.file)
	if err != nil {
		return err
	}
	defer in.Close()
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	en := netpol.New(e)
	enc := json.NewEncoder(p.g.streams.Out)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	denied, bad := false, false
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var q struct {
			From     string          `json:"from"`
			To       string          `json:"to"`
			Port     json.RawMessage `json:"port"`
			Protocol string          `json:"protocol"`
		}
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			bad = true
			_ = enc.Encode(reachLine{Error: fmt.Sprintf("line %d: %v", n, err)})
			continue
		}
		port := strings.Trim(string(q.Port), `"`)
		if port == "null" {
			port = ""
		}
		ans, err := en.Ask(netpol.Query{From: q.From, To: q.To, Port: port, Protocol: q.Protocol, Namespace: p.g.namespace})
		if err != nil {
			bad = true
			_ = enc.Encode(reachLine{Error: fmt.Sprintf("line %d: %v", n, err)})
			continue
		}
		denied = denied || !ans.Allowed
		if err := enc.Encode(reachJSON(ans)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return usageErrorf("reading %s: %v", p.file, err)
	}
	switch {
	case bad:
		return &exitError{code: ExitUsage}
	case denied:
		return errDenied
	}
	return nil
}

func writeAnswer(w io.Writer, src, dst string, a netpol.Answer) {
	word := "ALLOWED"
	if !a.Allowed {
		word = "DENIED"
	}
	fmt.Fprintf(w, "%s  %s → %s  (plugin: %s)\n", word, src, dst, a.Verdict.Plugin)
	if a.Pairs > 1 {
		fmt.Fprintf(w, "  %d of %d pod pairs allowed; shown: %s → %s\n", a.AllowedPairs, a.Pairs, a.From, a.To)
	}
	if !a.Verdict.Ports.Empty() && a.Port == "" {
		fmt.Fprintf(w, "  ports: %s\n", a.Verdict.Ports)
	}
	dir := func(name string, d netpol.DirectionVerdict) {
		v := "allowed"
		if !d.Allowed {
			v = "denied"
		}
		fmt.Fprintf(w, "  %s: %s — %s\n", name, v, d.Reason)
		for _, p := range d.Policies {
			fmt.Fprintf(w, "    %s\n", p)
		}
		if d.Conditional != "" {
			fmt.Fprintf(w, "    note: %s\n", d.Conditional)
		}
	}
	dir("egress  (at "+a.From+")", a.Verdict.Egress)
	dir("ingress (at "+a.To+")", a.Verdict.Ingress)
	for _, n := range a.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	for _, n := range a.Verdict.Notes {
		fmt.Fprintf(w, "  behaviour: %s\n", n)
	}
}

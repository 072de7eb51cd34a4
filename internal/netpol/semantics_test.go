package netpol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// base is two namespaces with three pods each way, used by most rules.
var base = []string{
	nsDoc("a", "team: a"), nsDoc("b", "team: b"),
	podDoc("a", "web", "app: web", "podIP: 10.244.1.10"),
	podDoc("a", "db", "app: db", "podIP: 10.244.1.11"),
	podDoc("b", "client", "app: client", "podIP: 10.244.2.10"),
	podDoc("b", "web", "app: web", "podIP: 10.244.2.11"),
}

type reachCase struct {
	name     string
	plugin   string // "" = upstream (no aks.json)
	docs     []string
	from, to string
	port     string
	proto    string
	want     bool
	wantBy   string // name of a deciding policy that must be listed, optional
}

func runReach(t *testing.T, cases []reachCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			en := New(loadEnv(t, tc.plugin, append(append([]string{}, base...), tc.docs...)...))
			ans, err := en.Ask(Query{From: tc.from, To: tc.to, Port: tc.port, Protocol: tc.proto})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ans.Allowed); diff != "" {
				t.Errorf("allowed (-want +got):\n%s\negress: %s\ningress: %s", diff, ans.Verdict.Egress.Reason, ans.Verdict.Ingress.Reason)
			}
			if tc.wantBy != "" {
				found := false
				for _, p := range append(ans.Verdict.Egress.Policies, ans.Verdict.Ingress.Policies...) {
					found = found || p.Name == tc.wantBy
				}
				if !found {
					t.Errorf("deciding policies %v do not name %s", append(ans.Verdict.Egress.Policies, ans.Verdict.Ingress.Policies...), tc.wantBy)
				}
			}
		})
	}
}

// S1/S2: default allow until selected; isolation is per direction.
func TestDefaultAllowAndPerDirectionIsolation(t *testing.T) {
	runReach(t, []reachCase{
		{name: "no policy allows everything", from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "ingress deny-all isolates the destination", docs: []string{npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Ingress]")}, from: "b/client", to: "a/web", port: "8080", want: false, wantBy: "deny"},
		{name: "ingress deny-all does not isolate egress", docs: []string{npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Ingress]")}, from: "a/web", to: "b/web", port: "8080", want: true},
		{name: "egress deny-all isolates the source", docs: []string{npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Egress]")}, from: "a/web", to: "b/web", port: "8080", want: false, wantBy: "deny"},
		{name: "egress deny-all does not isolate ingress", docs: []string{npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Egress]")}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "policy selecting other pods does not isolate", docs: []string{npDoc("a", "deny-db", "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Ingress]")}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "union of policies: second allows", docs: []string{npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Ingress]"), npDoc("a", "allow", "podSelector: {matchLabels: {app: web}}\ningress: [{}]")}, from: "b/client", to: "a/web", port: "8080", want: true, wantBy: "allow"},
	})
}

// S6/S8: empty versus absent rules.
func TestEmptyVersusAbsent(t *testing.T) {
	runReach(t, []reachCase{
		{name: "ingress: [] denies", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: []")}, from: "b/client", to: "a/web", port: "8080", want: false},
		{name: "ingress: [{}] allows all", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{}]")}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "egress: [] without policyTypes does not isolate egress", docs: []string{npDoc("a", "p", "podSelector: {}\negress: []")}, from: "a/web", to: "b/web", port: "8080", want: true},
		{name: "egress: [{}] isolates egress and allows all", docs: []string{npDoc("a", "p", "podSelector: {}\negress: [{}]")}, from: "a/web", to: "internet", port: "443", want: true},
		{name: "from absent allows all sources on the port", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{ports: [{port: 8080}]}]")}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "from absent still limits the port", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{ports: [{port: 8080}]}]")}, from: "b/client", to: "a/web", port: "9090", want: false},
		{name: "ports absent allows every protocol", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{from: [{podSelector: {}}]}]")}, from: "a/db", to: "a/web", port: "53", proto: "UDP", want: true},
		{name: "from absent includes external IPs", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{ports: [{port: 8080}]}]")}, from: "203.0.113.9", to: "a/web", port: "8080", want: true},
	})
}

// S9: peers.
func TestPeers(t *testing.T) {
	and := npDoc("a", "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {team: b}}\n    podSelector: {matchLabels: {app: client}}")
	or := npDoc("a", "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {team: b}}\n  - podSelector: {matchLabels: {app: client}}")
	runReach(t, []reachCase{
		{name: "podSelector alone means the policy's namespace", docs: []string{npDoc("a", "p", "podSelector: {matchLabels: {app: web}}\ningress: [{from: [{podSelector: {}}]}]")}, from: "b/client", to: "a/web", port: "8080", want: false},
		{name: "podSelector alone admits same namespace", docs: []string{npDoc("a", "p", "podSelector: {matchLabels: {app: web}}\ningress: [{from: [{podSelector: {}}]}]")}, from: "a/db", to: "a/web", port: "8080", want: true},
		{name: "AND peer admits match in both", docs: []string{and}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "AND peer rejects other pod of matching ns", docs: []string{and}, from: "b/web", to: "a/web", port: "8080", want: false},
		{name: "OR peers admit any pod of matching ns", docs: []string{or}, from: "b/web", to: "a/web", port: "8080", want: true},
		{name: "namespaceSelector {} admits all namespaces", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{from: [{namespaceSelector: {}}]}]")}, from: "b/web", to: "a/web", port: "8080", want: true},
		{name: "namespaceSelector {} excludes external IPs", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{from: [{namespaceSelector: {}}]}]")}, from: "203.0.113.9", to: "a/web", port: "8080", want: false},
		{name: "metadata.name label targets a namespace by name", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: b}}}]}]")}, from: "b/web", to: "a/web", port: "8080", want: true},
		{name: "metadata.name of another namespace rejects", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: c}}}]}]")}, from: "b/web", to: "a/web", port: "8080", want: false},
		{name: "matchExpressions NotIn", docs: []string{npDoc("a", "p", "podSelector: {}\ningress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [a]}]}}]}]")}, from: "b/web", to: "a/web", port: "8080", want: true},
	})
}

// S11/S12 and §2: ipBlock.
func TestIPBlock(t *testing.T) {
	egr := func(block string) string {
		return npDoc("a", "p", "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\negress: [{to: [{ipBlock: "+block+"}]}]")
	}
	runReach(t, []reachCase{
		{name: "external IP in cidr", docs: []string{egr("{cidr: 203.0.113.0/24}")}, from: "a/web", to: "203.0.113.5", port: "443", want: true},
		{name: "external IP outside cidr", docs: []string{egr("{cidr: 203.0.113.0/24}")}, from: "a/web", to: "198.51.100.5", port: "443", want: false},
		{name: "except carves out", docs: []string{egr("{cidr: 203.0.113.0/24, except: [203.0.113.0/28]}")}, from: "a/web", to: "203.0.113.5", port: "443", want: false},
		{name: "upstream: ipBlock matches pod IP", docs: []string{egr("{cidr: 10.244.2.11/32}")}, from: "a/web", to: "b/web", port: "8080", want: true},
		{name: "npm: ipBlock matches pod IP", plugin: "azure", docs: []string{egr("{cidr: 10.244.0.0/16}")}, from: "a/web", to: "b/web", port: "8080", want: true},
		{name: "calico: ipBlock matches pod IP", plugin: "calico", docs: []string{egr("{cidr: 10.244.0.0/16}")}, from: "a/web", to: "b/web", port: "8080", want: true},
		{name: "cilium: ipBlock never matches pod IP", plugin: "cilium", docs: []string{egr("{cidr: 0.0.0.0/0}")}, from: "a/web", to: "b/web", port: "8080", want: false},
		{name: "cilium: ipBlock 0.0.0.0/0 still matches external", plugin: "cilium", docs: []string{egr("{cidr: 0.0.0.0/0}")}, from: "a/web", to: "internet", port: "443", want: true},
		{name: "except against pod IP", plugin: "azure", docs: []string{egr("{cidr: 10.244.0.0/16, except: [10.244.2.0/24]}")}, from: "a/web", to: "b/web", port: "8080", want: false},
		{name: "internet allowed by 0.0.0.0/0 except private", docs: []string{egr("{cidr: 0.0.0.0/0, except: [10.0.0.0/8]}")}, from: "a/web", to: "internet", port: "443", want: true},
		{name: "internet not allowed by private-only cidr", docs: []string{egr("{cidr: 10.0.0.0/8}")}, from: "a/web", to: "internet", port: "443", want: false},
	})
}

// S13/S14: ports, named ports, endPort, protocols.
func TestPorts(t *testing.T) {
	in := func(ports string) string {
		return npDoc("a", "p", "podSelector: {matchLabels: {app: web}}\ningress: [{ports: "+ports+"}]")
	}
	runReach(t, []reachCase{
		{name: "numeric port TCP default", docs: []string{in("[{port: 8080}]")}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "protocol differs", docs: []string{in("[{port: 8080}]")}, from: "b/client", to: "a/web", port: "8080", proto: "UDP", want: false},
		{name: "named port resolves on destination", docs: []string{in("[{port: http}]")}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "named port needs the protocol to match", docs: []string{in("[{port: http, protocol: UDP}]")}, from: "b/client", to: "a/web", port: "8080", proto: "UDP", want: false},
		{name: "named UDP port", docs: []string{in("[{port: dns, protocol: UDP}]")}, from: "b/client", to: "a/web", port: "5353", proto: "UDP", want: true},
		{name: "named port is not another number", docs: []string{in("[{port: http}]")}, from: "b/client", to: "a/web", port: "80", want: false},
		{name: "endPort range inclusive", docs: []string{in("[{port: 8000, endPort: 8080}]")}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "endPort range excludes beyond", docs: []string{in("[{port: 8000, endPort: 8080}]")}, from: "b/client", to: "a/web", port: "8081", want: false},
		{name: "SCTP port", docs: []string{in("[{port: 9000, protocol: SCTP}]")}, from: "b/client", to: "a/web", port: "9000", proto: "SCTP", want: true},
		{name: "SCTP-only allow still isolates TCP", docs: []string{in("[{port: 9000, protocol: SCTP}]")}, from: "b/client", to: "a/web", port: "9000", want: false},
		{name: "port by name in query", docs: []string{in("[{port: 8080}]")}, from: "b/client", to: "a/web", port: "http", want: true},
	})
}

// S4/S5/S15 and §3: node-local traffic, self, host network.
func TestNodeAndHostNetwork(t *testing.T) {
	deny := npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
	hn := podDoc("b", "agent", "app: agent", "hostNetwork: true", "nodeName: n1")
	onN1 := podDoc("a", "pinned", "app: pinned", "nodeName: n1")
	for _, plugin := range []string{"", "azure", "calico", "cilium"} {
		runReach(t, []reachCase{
			{name: plugin + " own node reaches pod under deny-all", plugin: plugin, docs: []string{deny}, from: "node", to: "a/web", port: "8080", want: true},
			{name: plugin + " pod reaches itself", plugin: plugin, docs: []string{deny}, from: "a/web", to: "a/web", port: "8080", want: true},
			{name: plugin + " host-network pod on the same node", plugin: plugin, docs: []string{deny, hn, onN1}, from: "b/agent", to: "a/pinned", port: "8080", want: true},
			{name: plugin + " host-network pod elsewhere is denied", plugin: plugin, docs: []string{deny, hn}, from: "b/agent", to: "a/web", port: "8080", want: false},
			{name: plugin + " host-network pod is never isolated", plugin: plugin, docs: []string{hn, npDoc("b", "deny", "podSelector: {}\npolicyTypes: [Ingress]")}, from: "a/web", to: "b/agent", port: "8080", want: true},
			{name: plugin + " podSelector {} does not match host-network pods", plugin: plugin, docs: []string{hn, npDoc("a", "p", "podSelector: {}\ningress: [{from: [{namespaceSelector: {}}]}]")}, from: "b/agent", to: "a/web", port: "8080", want: false},
		})
	}
	runReach(t, []reachCase{
		{name: "npm: egress to own node is not filtered", plugin: "azure", docs: []string{deny}, from: "a/web", to: "node", port: "10250", want: true},
		{name: "cilium: egress to own node is filtered", plugin: "cilium", docs: []string{deny}, from: "a/web", to: "node", port: "10250", want: false},
		{name: "npm: host-network peer matched by ipBlock of the node range", plugin: "azure", docs: []string{hn, npDoc("a", "p", "podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]")}, from: "b/agent", to: "a/web", port: "8080", want: true},
		{name: "cilium: host-network peer never matched by ipBlock", plugin: "cilium", docs: []string{hn, npDoc("a", "p", "podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]")}, from: "b/agent", to: "a/web", port: "8080", want: false},
	})
}

// Profiles: none enforces nothing; Windows NPM drops policies it cannot
// translate.
func TestProfiles(t *testing.T) {
	deny := npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Ingress]")
	winPod := podDoc("a", "win", "app: win", "nodeSelector: {kubernetes.io/os: windows}")
	named := npDoc("a", "named", "podSelector: {matchLabels: {app: win}}\ningress: [{ports: [{port: http}]}]")
	plain := npDoc("a", "plain", "podSelector: {matchLabels: {app: win}}\ningress: [{ports: [{port: 9999}]}]")
	runReach(t, []reachCase{
		{name: "none enforces nothing", plugin: "none", docs: []string{deny}, from: "b/client", to: "a/web", port: "8080", want: true},
		{name: "windows npm ignores a named-port policy", plugin: "azure-windows", docs: []string{winPod, named}, from: "b/client", to: "a/win", port: "9090", want: true},
		{name: "linux npm applies the named-port policy", plugin: "azure", docs: []string{winPod, named}, from: "b/client", to: "a/win", port: "9090", want: false},
		{name: "windows npm applies a plain policy", plugin: "azure-windows", docs: []string{winPod, plain}, from: "b/client", to: "a/win", port: "9090", want: false},
	})
}

// Services: reaching a Service is reaching its pods on the target port.
func TestServices(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: a}\nspec:\n  selector: {app: web}\n  ports:\n  - {name: web, port: 80, targetPort: http}\n  - {name: raw, port: 81, targetPort: 9090}\n"
	allow := npDoc("a", "p", "podSelector: {matchLabels: {app: web}}\ningress: [{ports: [{port: 8080}]}]")
	runReach(t, []reachCase{
		{name: "service port to named targetPort", docs: []string{svc, allow}, from: "b/client", to: "a/service/web", port: "80", want: true},
		{name: "service port by name", docs: []string{svc, allow}, from: "b/client", to: "a/service/web", port: "web", want: true},
		{name: "service port to numeric targetPort not allowed", docs: []string{svc, allow}, from: "b/client", to: "a/service/web", port: "81", want: false},
	})
}

func TestCiliumEndPortByVersion(t *testing.T) {
	np := npDoc("a", "range", "podSelector: {matchLabels: {app: web}}\ningress: [{ports: [{port: 8000, endPort: 8080}]}]")
	for _, tc := range []struct {
		version string
		want    bool
	}{{"1.30.5", false}, {"1.31.2", true}, {"", true}} {
		e := loadEnv(t, "cilium", append(append([]string{}, base...), np)...)
		e.Cluster.CurrentKubernetesVer = tc.version
		e.Cluster.KubernetesVersion = tc.version
		ans, err := New(e).Ask(Query{From: "b/client", To: "a/web", Port: "8080"})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Allowed != tc.want {
			t.Errorf("cilium on Kubernetes %q: port 8080 in 8000-8080 allowed = %v, want %v", tc.version, ans.Allowed, tc.want)
		}
	}
}

func TestServiceClusterIP(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: a}\nspec:\n  clusterIP: 10.0.12.34\n  selector: {app: web}\n  ports:\n  - {name: web, port: 80, targetPort: http}\n"
	allow := npDoc("a", "p", "podSelector: {matchLabels: {app: web}}\ningress: [{ports: [{port: 8080}]}]")
	runReach(t, []reachCase{
		{name: "cluster IP resolves to the backends on the target port", docs: []string{svc, allow}, from: "b/client", to: "10.0.12.34", port: "80", want: true},
		{name: "service port by name: the allow survives a deny-all", docs: []string{svc, allow, npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Ingress]")}, from: "b/client", to: "a/service/web", port: "web", want: true},
	})
}

func TestHostNetworkDaemonSet(t *testing.T) {
	ds := "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: b}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      hostNetwork: true\n      containers: [{name: c, image: x}]\n"
	deny := npDoc("a", "deny", "podSelector: {}\npolicyTypes: [Ingress]")
	runReach(t, []reachCase{
		{name: "npm: its pod on the destination's node is node-local", plugin: "azure", docs: []string{ds, deny}, from: "b/daemonset/agent", to: "a/web", port: "8080", want: true},
		{name: "cilium: the same", plugin: "cilium", docs: []string{ds, deny}, from: "b/daemonset/agent", to: "a/web", port: "8080", want: true},
	})
}

func TestQueryNames(t *testing.T) {
	en := New(loadEnv(t, "", append(append([]string{}, base...), nsDoc("default"), podDoc("default", "solo", "app: solo"))...))
	for _, tc := range []struct {
		q    Query
		from string
	}{
		{Query{From: "solo", To: "a/web"}, "default/solo"},
		{Query{From: "web", To: "a/web", Namespace: "b"}, "b/web"},
		{Query{From: "pod/web", To: "a/web", Namespace: "b"}, "b/web"},
		{Query{From: "b/pod/web", To: "a/web"}, "b/web"},
	} {
		ans, err := en.Ask(tc.q)
		if err != nil {
			t.Fatalf("%+v: %v", tc.q, err)
		}
		if ans.From != tc.from {
			t.Errorf("%+v: from = %s, want %s", tc.q, ans.From, tc.from)
		}
	}
	for _, bad := range []Query{{From: "nope", To: "a/web"}, {From: "a/b/c/d", To: "a/web"}, {From: "a/widget/x", To: "a/web"}, {From: "a/web", To: "a/web", Port: "70000"}, {From: "a/web", To: "a/web", Protocol: "ICMP"}} {
		if _, err := en.Ask(bad); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}

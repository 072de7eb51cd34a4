package netpol

import "testing"

// The policy examples of the Kubernetes documentation page "Network
// Policies" (kubernetes/website content/en/docs/concepts/services-networking/
// network-policies.md), with the outcomes the page states.

var docsBase = []string{
	nsDoc("default"), nsDoc("myproject", "project: myproject"), nsDoc("other", "user: alice"),
	podDoc("default", "db", "role: db", "podIP: 10.1.0.10"),
	podDoc("default", "frontend", "role: frontend", "podIP: 10.1.0.11"),
	podDoc("default", "other", "role: other", "podIP: 10.1.0.12"),
	podDoc("myproject", "any", "role: any", "podIP: 10.1.1.10"),
	podDoc("other", "client", "role: client", "podIP: 10.1.2.10"),
	podDoc("other", "notclient", "role: x", "podIP: 10.1.2.11"),
}

const testNetworkPolicy = `podSelector:
  matchLabels:
    role: db
policyTypes:
- Ingress
- Egress
ingress:
- from:
  - ipBlock:
      cidr: 172.17.0.0/16
      except:
      - 172.17.1.0/24
  - namespaceSelector:
      matchLabels:
        project: myproject
  - podSelector:
      matchLabels:
        role: frontend
  ports:
  - protocol: TCP
    port: 6379
egress:
- to:
  - ipBlock:
      cidr: 10.0.0.0/24
  ports:
  - protocol: TCP
    port: 5978
`

func docsCases(cases []reachCase) []reachCase {
	for i := range cases {
		cases[i].docs = append(append([]string{}, docsBase...), cases[i].docs...)
	}
	return cases
}

func TestDocsExamples(t *testing.T) {
	np := npDoc("default", "test-network-policy", testNetworkPolicy)
	and := npDoc("default", "and", "podSelector: {matchLabels: {role: db}}\ningress:\n- from:\n  - namespaceSelector:\n      matchLabels:\n        user: alice\n    podSelector:\n      matchLabels:\n        role: client")
	or := npDoc("default", "or", "podSelector: {matchLabels: {role: db}}\ningress:\n- from:\n  - namespaceSelector:\n      matchLabels:\n        user: alice\n  - podSelector:\n      matchLabels:\n        role: client")
	cases := docsCases([]reachCase{
		// test-network-policy: "allows connections to TCP port 6379 of role=db pods in default from": the ipBlock except, myproject pods, frontend pods.
		{name: "frontend to db 6379", docs: []string{np}, from: "default/frontend", to: "default/db", port: "6379", want: true, wantBy: "test-network-policy"},
		{name: "myproject to db 6379", docs: []string{np}, from: "myproject/any", to: "default/db", port: "6379", want: true},
		{name: "172.17.0.5 to db 6379", docs: []string{np}, from: "172.17.0.5", to: "default/db", port: "6379", want: true},
		{name: "172.17.1.5 (except) to db 6379", docs: []string{np}, from: "172.17.1.5", to: "default/db", port: "6379", want: false},
		{name: "other pod to db 6379", docs: []string{np}, from: "default/other", to: "default/db", port: "6379", want: false},
		{name: "frontend to db other port", docs: []string{np}, from: "default/frontend", to: "default/db", port: "80", want: false},
		// "allows connections from any pod in the default namespace with the label role=db to CIDR 10.0.0.0/24 on TCP port 5978".
		{name: "db egress to 10.0.0.9:5978", docs: []string{np}, from: "default/db", to: "10.0.0.9", port: "5978", want: true},
		{name: "db egress to 10.0.1.9:5978", docs: []string{np}, from: "default/db", to: "10.0.1.9", port: "5978", want: false},
		{name: "db egress elsewhere denied", docs: []string{np}, from: "default/db", to: "default/frontend", port: "6379", want: false},
		// Default policies.
		{name: "default-deny-ingress", docs: []string{npDoc("default", "default-deny-ingress", "podSelector: {}\npolicyTypes:\n- Ingress")}, from: "other/client", to: "default/frontend", port: "80", want: false},
		{name: "default-deny-ingress keeps egress", docs: []string{npDoc("default", "default-deny-ingress", "podSelector: {}\npolicyTypes:\n- Ingress")}, from: "default/frontend", to: "other/client", port: "80", want: true},
		{name: "allow-all-ingress", docs: []string{npDoc("default", "default-deny-ingress", "podSelector: {}\npolicyTypes:\n- Ingress"), npDoc("default", "allow-all-ingress", "podSelector: {}\ningress:\n- {}\npolicyTypes:\n- Ingress")}, from: "other/client", to: "default/frontend", port: "80", want: true},
		{name: "default-deny-egress", docs: []string{npDoc("default", "default-deny-egress", "podSelector: {}\npolicyTypes:\n- Egress")}, from: "default/frontend", to: "other/client", port: "80", want: false},
		{name: "allow-all-egress", docs: []string{npDoc("default", "default-deny-egress", "podSelector: {}\npolicyTypes:\n- Egress"), npDoc("default", "allow-all-egress", "podSelector: {}\negress:\n- {}\npolicyTypes:\n- Egress")}, from: "default/frontend", to: "other/client", port: "80", want: true},
		{name: "default-deny-all ingress", docs: []string{npDoc("default", "default-deny-all", "podSelector: {}\npolicyTypes:\n- Ingress\n- Egress")}, from: "other/client", to: "default/frontend", port: "80", want: false},
		{name: "default-deny-all egress", docs: []string{npDoc("default", "default-deny-all", "podSelector: {}\npolicyTypes:\n- Ingress\n- Egress")}, from: "default/frontend", to: "internet", port: "443", want: false},
		// multi-port-egress: "allow any pod with role=db to communicate with any IP within 10.0.0.0/24 over TCP, provided the target port is between 32000 and 32768".
		{name: "endPort 32000", docs: []string{npDoc("default", "multi-port-egress", "podSelector:\n  matchLabels:\n    role: db\npolicyTypes:\n- Egress\negress:\n- to:\n  - ipBlock:\n      cidr: 10.0.0.0/24\n  ports:\n  - protocol: TCP\n    port: 32000\n    endPort: 32768")}, from: "default/db", to: "10.0.0.1", port: "32768", want: true},
		{name: "endPort beyond", docs: []string{npDoc("default", "multi-port-egress", "podSelector:\n  matchLabels:\n    role: db\npolicyTypes:\n- Egress\negress:\n- to:\n  - ipBlock:\n      cidr: 10.0.0.0/24\n  ports:\n  - protocol: TCP\n    port: 32000\n    endPort: 32768")}, from: "default/db", to: "10.0.0.1", port: "32769", want: false},
		// "Behavior of to and from selectors": one element allows role=client pods in namespaces labelled user=alice; two elements allow either.
		{name: "AND: client in alice's namespace", docs: []string{and}, from: "other/client", to: "default/db", port: "80", want: true},
		{name: "AND: other pod in alice's namespace", docs: []string{and}, from: "other/notclient", to: "default/db", port: "80", want: false},
		{name: "OR: other pod in alice's namespace", docs: []string{or}, from: "other/notclient", to: "default/db", port: "80", want: true},
		// Targeting a namespace by its name.
		{name: "namespace by name", docs: []string{npDoc("default", "by-name", "podSelector: {}\npolicyTypes: [Ingress]\ningress:\n- from:\n  - namespaceSelector:\n      matchLabels:\n        kubernetes.io/metadata.name: myproject")}, from: "myproject/any", to: "default/db", port: "80", want: true},
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runReachDocs(t, tc) })
	}
}

func runReachDocs(t *testing.T, tc reachCase) {
	t.Helper()
	en := New(loadEnv(t, tc.plugin, tc.docs...))
	ans, err := en.Ask(Query{From: tc.from, To: tc.to, Port: tc.port, Protocol: tc.proto})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Allowed != tc.want {
		t.Errorf("allowed = %v, want %v\negress: %s\ningress: %s", ans.Allowed, tc.want, ans.Verdict.Egress.Reason, ans.Verdict.Ingress.Reason)
	}
}

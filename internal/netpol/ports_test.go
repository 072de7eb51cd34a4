package netpol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestPortSet(t *testing.T) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	cases := []struct {
		name string
		got  PortSet
		want string
	}{
		{"empty", PortSet{}, "None"},
		{"all", AllPorts(), "All"},
		{"union merges adjacent", ProtoRange(tcp, 80, 89).Union(ProtoRange(tcp, 90, 100)), "TCP 80-100"},
		{"union keeps gaps", Port(tcp, 80).Union(Port(tcp, 443)).Union(Port(udp, 53)), "TCP 80,443; UDP 53"},
		{"intersect", ProtoRange(tcp, 80, 100).Intersect(ProtoRange(tcp, 90, 200)), "TCP 90-100"},
		{"intersect protocols", ProtoRange(tcp, 0, 0).Intersect(Port(udp, 53)), "None"},
		{"minus middle", ProtoRange(tcp, 80, 100).Minus(Port(tcp, 90)), "TCP 80-89,91-100"},
		{"minus edges", ProtoRange(tcp, 80, 100).Minus(ProtoRange(tcp, 0, 0).Minus(ProtoRange(tcp, 85, 95))), "TCP 85-95"},
		{"minus two spans", Port(tcp, 1).Union(Port(tcp, 3)).Union(Port(tcp, 5)).Minus(ProtoRange(tcp, 2, 4)), "TCP 1,5"},
		{"all minus tcp", AllPorts().Minus(ProtoRange(tcp, 0, 0)), "UDP all; SCTP all"},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, tc.got.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	s := ProtoRange(tcp, 8000, 8080)
	for port, want := range map[int32]bool{7999: false, 8000: true, 8080: true, 8081: false} {
		if s.Contains(tcp, port) != want {
			t.Errorf("Contains(%d) = %v, want %v", port, !want, want)
		}
	}
	if s.Contains(udp, 8000) {
		t.Error("TCP range contains UDP 8000")
	}
}

package azurepolicy

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/gatekeeper"
)

// Prefilters decide in Go, for the templates akssec ships, whether a pod
// can be reported at all, so that a compliant pod never reaches Rego. Each
// answers "maybe" whenever it is unsure; the Rego template then decides
// and words the message. prefilter_test.go checks on random pods that no
// prefilter says "no" where the Rego reports a violation.
func Prefilters() map[string]gatekeeper.Prefilter {
	out := map[string]gatekeeper.Prefilter{}
	for file, pf := range podPrefilters {
		u, err := Template(file)
		if err != nil {
			continue
		}
		pf := pf
		out[u.GetName()] = func(o *gatekeeper.Object, params map[string]any) bool {
			pod, ok := o.Typed.(*corev1.Pod)
			if !ok || o.Kind != "Pod" || o.Group != "" {
				return true
			}
			return pf(pod, params)
		}
	}
	return out
}

type podPrefilter func(pod *corev1.Pod, params map[string]any) bool

func allContainers(p *corev1.Pod) []*corev1.Container {
	out := make([]*corev1.Container, 0, len(p.Spec.InitContainers)+len(p.Spec.Containers)+len(p.Spec.EphemeralContainers))
	for i := range p.Spec.InitContainers {
		out = append(out, &p.Spec.InitContainers[i])
	}
	for i := range p.Spec.Containers {
		out = append(out, &p.Spec.Containers[i])
	}
	for i := range p.Spec.EphemeralContainers {
		out = append(out, (*corev1.Container)(&p.Spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	return out
}

func anyContainer(p *corev1.Pod, f func(c *corev1.Container) bool) bool {
	for _, c := range allContainers(p) {
		if f(c) {
			return true
		}
	}
	return false
}

func hasAnnotationPrefix(p *corev1.Pod, prefixes ...string) bool {
	for k := range p.Annotations {
		for _, pre := range prefixes {
			if strings.HasPrefix(k, pre) {
				return true
			}
		}
	}
	return false
}

func paramStrings(params map[string]any, name string) ([]string, bool) {
	v, ok := params[name]
	if !ok {
		return nil, false
	}
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func has(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

var regexCache = newRegexCache()

var podPrefilters = map[string]podPrefilter{
	"container-no-privilege-v2": func(p *corev1.Pod, _ map[string]any) bool {
		return anyContainer(p, func(c *corev1.Container) bool {
			return c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
		})
	},
	"container-no-privilege-escalation-v4": func(p *corev1.Pod, _ map[string]any) bool {
		return anyContainer(p, func(c *corev1.Container) bool {
			return c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation
		})
	},
	"container-resource-limits-v3": func(p *corev1.Pod, params map[string]any) bool {
		maxCPU, ok1 := cpuMillis(params["cpuLimit"])
		maxMem, ok2 := memMillis(params["memoryLimit"])
		if !ok1 || !ok2 {
			return true
		}
		check := func(cs []corev1.Container) bool {
			for i := range cs {
				l := cs[i].Resources.Limits
				cpu, okc := l[corev1.ResourceCPU]
				mem, okm := l[corev1.ResourceMemory]
				if !okc || !okm {
					return true
				}
				c, ok := cpuMillis(cpu.String())
				if !ok || c.Cmp(maxCPU) > 0 {
					return true
				}
				m, ok := memMillis(mem.String())
				if !ok || m.Cmp(maxMem) > 0 {
					return true
				}
			}
			return false
		}
		return check(p.Spec.Containers) || check(p.Spec.InitContainers)
	},
	"container-allowed-images-v2": func(p *corev1.Pod, params map[string]any) bool {
		re, ok := params["imageRegex"].(string)
		if !ok {
			return true
		}
		rx := regexCache.get(re)
		if rx == nil {
			return true
		}
		return anyContainer(p, func(c *corev1.Container) bool { return !rx.MatchString(c.Image) })
	},
	"host-network-ports-v3": hostNetworkPorts,
	"host-network-ports-v4": hostNetworkPorts,
	"block-host-namespace-v2": func(p *corev1.Pod, _ map[string]any) bool {
		return p.Spec.HostPID || p.Spec.HostIPC
	},
	"block-host-namespace-v3": func(p *corev1.Pod, _ map[string]any) bool {
		return p.Spec.HostPID || p.Spec.HostIPC
	},
	"read-only-root-filesystem-v3": func(p *corev1.Pod, _ map[string]any) bool {
		return anyContainer(p, func(c *corev1.Container) bool {
			return c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem
		})
	},
	"container-allowed-capabilities-v3": func(p *corev1.Pod, params map[string]any) bool {
		required, ok := paramStrings(params, "requiredDropCapabilities")
		if _, present := params["requiredDropCapabilities"]; present && !ok {
			return true
		}
		return anyContainer(p, func(c *corev1.Container) bool {
			if c.SecurityContext == nil || c.SecurityContext.Capabilities == nil {
				return len(required) > 0
			}
			if len(c.SecurityContext.Capabilities.Add) > 0 {
				return true
			}
			if len(required) == 0 {
				return false
			}
			for _, d := range c.SecurityContext.Capabilities.Drop {
				if strings.EqualFold(string(d), "ALL") {
					return false
				}
			}
			return true
		})
	},
	"container-disallowed-capabilities-v3": func(p *corev1.Pod, params map[string]any) bool {
		dis, ok := paramStrings(params, "disallowedCapabilities")
		if !ok && params["disallowedCapabilities"] != nil {
			return true
		}
		if has(dis, "*") {
			return true
		}
		return anyContainer(p, func(c *corev1.Container) bool {
			return c.SecurityContext != nil && c.SecurityContext.Capabilities != nil && len(c.SecurityContext.Capabilities.Add) > 0
		})
	},
	"allowed-seccomp-profiles-v3": func(p *corev1.Pod, params map[string]any) bool {
		allowed, ok := paramStrings(params, "allowedProfiles")
		if !ok {
			return true
		}
		if has(allowed, "*") {
			return false
		}
		if !(has(allowed, "runtime/default") || has(allowed, "docker/default") || has(allowed, "RuntimeDefault")) {
			return true
		}
		if hasAnnotationPrefix(p, "seccomp.security.alpha.kubernetes.io/", "container.seccomp.security.alpha.kubernetes.io/") {
			return true
		}
		podDefault := p.Spec.SecurityContext != nil && p.Spec.SecurityContext.SeccompProfile != nil && p.Spec.SecurityContext.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault
		return anyContainer(p, func(c *corev1.Container) bool {
			if c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
				return c.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault
			}
			return !podDefault
		})
	},
	"enforce-apparmor-profile-v3": func(p *corev1.Pod, params map[string]any) bool {
		allowed, ok := paramStrings(params, "allowedProfiles")
		if !ok || !has(allowed, "runtime/default") {
			return true
		}
		if hasAnnotationPrefix(p, "container.apparmor.security.beta.kubernetes.io/") {
			return true
		}
		if p.Spec.SecurityContext != nil && p.Spec.SecurityContext.AppArmorProfile != nil && p.Spec.SecurityContext.AppArmorProfile.Type != corev1.AppArmorProfileTypeRuntimeDefault {
			return true
		}
		return anyContainer(p, func(c *corev1.Container) bool {
			return c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil && c.SecurityContext.AppArmorProfile.Type != corev1.AppArmorProfileTypeRuntimeDefault
		})
	},
	"allowed-host-paths-v4": func(p *corev1.Pod, _ map[string]any) bool {
		for _, v := range p.Spec.Volumes {
			if v.HostPath != nil {
				return true
			}
		}
		return false
	},
	"block-automount-token-v2": func(p *corev1.Pod, _ map[string]any) bool {
		if p.Spec.AutomountServiceAccountToken != nil {
			return *p.Spec.AutomountServiceAccountToken
		}
		return anyContainer(p, func(c *corev1.Container) bool {
			for _, m := range c.VolumeMounts {
				if m.MountPath == "/var/run/secrets/kubernetes.io/serviceaccount" {
					return true
				}
			}
			return false
		})
	},
	"allowed-volume-types-v2": func(p *corev1.Pod, params map[string]any) bool {
		allowed, ok := paramStrings(params, "volumes")
		if !ok {
			return true
		}
		if has(allowed, "*") {
			return false
		}
		for _, v := range p.Spec.Volumes {
			b, err := json.Marshal(v.VolumeSource)
			if err != nil {
				return true
			}
			var m map[string]json.RawMessage
			if json.Unmarshal(b, &m) != nil {
				return true
			}
			for k := range m {
				if !has(allowed, k) {
					return true
				}
			}
		}
		return false
	},
	"allowed-users-groups-v3": usersGroups,
	"container-no-latest-image-v2": func(p *corev1.Pod, _ map[string]any) bool {
		return anyContainer(p, func(c *corev1.Container) bool {
			if strings.Contains(c.Image, "@") {
				return false
			}
			parts := strings.Split(c.Image, "/")
			last := parts[len(parts)-1]
			i := strings.Index(last, ":")
			return i < 0 || strings.Split(last, ":")[1] == "latest"
		})
	},
	"block-default-namespace-v1": func(p *corev1.Pod, _ map[string]any) bool {
		return p.Namespace == "" || p.Namespace == "default"
	},
}

func hostNetworkPorts(p *corev1.Pod, params map[string]any) bool {
	if p.Spec.HostNetwork {
		if allow, ok := params["allowHostNetwork"].(bool); !ok || !allow {
			return true
		}
	}
	return anyContainer(p, func(c *corev1.Container) bool {
		for _, port := range c.Ports {
			if port.HostPort != 0 {
				return true
			}
		}
		return false
	})
}

// usersGroups answers "no" only when every checked field is set to a value
// the rule plainly accepts.
func usersGroups(p *corev1.Pod, params map[string]any) bool {
	podSC := p.Spec.SecurityContext
	for _, field := range []string{"runAsUser", "runAsGroup", "supplementalGroups", "fsGroup"} {
		raw, present := params[field]
		if !present {
			continue
		}
		fp, ok := raw.(map[string]any)
		if !ok {
			return true
		}
		rule, _ := fp["rule"].(string)
		if rule == "RunAsAny" {
			continue
		}
		ranges, ok := parseRanges(fp["ranges"])
		if !ok {
			return true
		}
		for _, c := range allContainers(p) {
			var vals []int64
			set := false
			switch field {
			case "runAsUser":
				if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
					vals, set = []int64{*c.SecurityContext.RunAsUser}, true
				} else if podSC != nil && podSC.RunAsUser != nil {
					vals, set = []int64{*podSC.RunAsUser}, true
				}
			case "runAsGroup":
				if c.SecurityContext != nil && c.SecurityContext.RunAsGroup != nil {
					vals, set = []int64{*c.SecurityContext.RunAsGroup}, true
				} else if podSC != nil && podSC.RunAsGroup != nil {
					vals, set = []int64{*podSC.RunAsGroup}, true
				}
			case "supplementalGroups":
				if podSC != nil && len(podSC.SupplementalGroups) > 0 {
					vals, set = podSC.SupplementalGroups, true
				}
			case "fsGroup":
				if podSC != nil && podSC.FSGroup != nil {
					vals, set = []int64{*podSC.FSGroup}, true
				}
			}
			switch rule {
			case "MustRunAsNonRoot":
				if field != "runAsUser" || !set || vals[0] == 0 {
					return true
				}
			case "MustRunAs", "MayRunAs":
				if !set {
					if rule == "MustRunAs" {
						return true
					}
					continue
				}
				for _, v := range vals {
					if !inRanges(v, ranges) {
						return true
					}
				}
			default:
				return true
			}
		}
	}
	return false
}

type idRange struct{ min, max int64 }

func parseRanges(v any) ([]idRange, bool) {
	if v == nil {
		return nil, true
	}
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	var out []idRange
	for _, x := range l {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		lo, ok1 := toInt(m["min"])
		hi, ok2 := toInt(m["max"])
		if !ok1 || !ok2 {
			return nil, false
		}
		out = append(out, idRange{lo, hi})
	}
	return out, true
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		return int64(x), float64(int64(x)) == x
	}
	return 0, false
}

func inRanges(v int64, rs []idRange) bool {
	for _, r := range rs {
		if r.max == -1 && v >= r.min {
			return true
		}
		if r.max != -1 && v >= r.min && v <= r.max {
			return true
		}
	}
	return false
}

var decimalRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// cpuMillis and memMillis compute what the template's canonify_cpu and
// canonify_mem compute, exactly (big rationals), for the plain forms; ok is
// false for anything else (the Rego then decides).
func cpuMillis(v any) (*big.Rat, bool) {
	s, ok := v.(string)
	if !ok {
		return nil, false
	}
	if strings.HasSuffix(s, "m") {
		n := strings.TrimSuffix(s, "m")
		if !decimalRE.MatchString(n) {
			return nil, false
		}
		r, ok := new(big.Rat).SetString(n)
		return r, ok
	}
	if !decimalRE.MatchString(s) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, false
	}
	return r.Mul(r, big.NewRat(1000, 1)), true
}

var memUnits = map[string]*big.Rat{
	"E": ratPow(10, 21), "P": ratPow(10, 18), "T": ratPow(10, 15), "G": ratPow(10, 12), "M": ratPow(10, 9), "k": ratPow(10, 6), "": ratPow(10, 3), "m": ratPow(10, 0),
	"Ki": mulRat(1000, 1<<10), "Mi": mulRat(1000, 1<<20), "Gi": mulRat(1000, 1<<30), "Ti": mulRat(1000, 1<<40), "Pi": mulRat(1000, 1<<50), "Ei": mulRat(1000, 1<<60),
}

func ratPow(b, e int64) *big.Rat {
	return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(b), big.NewInt(e), nil))
}

func mulRat(a int64, b uint64) *big.Rat {
	return new(big.Rat).SetInt(new(big.Int).Mul(big.NewInt(a), new(big.Int).SetUint64(b)))
}

func memMillis(v any) (*big.Rat, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil, false
	}
	for _, suf := range []string{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "E", "P", "T", "G", "M", "k", "m"} {
		if strings.HasSuffix(s, suf) {
			n := strings.TrimSuffix(s, suf)
			if !decimalRE.MatchString(n) {
				return nil, false
			}
			r, ok := new(big.Rat).SetString(n)
			if !ok {
				return nil, false
			}
			return r.Mul(r, memUnits[suf]), true
		}
	}
	if !decimalRE.MatchString(s) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, false
	}
	return r.Mul(r, memUnits[""]), true
}

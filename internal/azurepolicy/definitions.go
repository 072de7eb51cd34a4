package azurepolicy

import "github.com/akssec/akssec/internal/gatekeeper"

// Definition is a built-in Azure Policy definition for Kubernetes
// (mode Microsoft.Kubernetes.Data) at the version akssec models: its
// template, the kinds the constraint matches, how the assignment's
// parameters become constraint parameters, and the defaults.
type Definition struct {
	ID          string // the GUID, lower case
	Name        string // the definition file name in Azure/azure-policy
	DisplayName string
	Version     string
	// DefaultEffect is the effect parameter's default.
	DefaultEffect string
	// Template is the embedded template file (templates/<Template>.yaml),
	// named after the template URL the definition pins.
	Template string
	Kinds    []gatekeeper.Kinds
	// Values maps constraint parameters to the assignment parameter they
	// come from (details.values), a dotted path for nested values
	// ("allowedHostPaths.paths").
	Values map[string]string
	// Fixed are constraint parameters the definition sets itself.
	Fixed map[string]any
	// Defaults are the parameter defaults of the definition.
	Defaults map[string]any
	// Recommended is the effect the seed recommends for production.
	Recommended string
}

var podKinds = []gatekeeper.Kinds{{APIGroups: []string{""}, Kinds: []string{"Pod"}}}

// Default excludedNamespaces: "A" and "B" of the reference's Appendix A.
var (
	excludedA = []any{"kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system"}
	excludedB = []any{"kube-system", "gatekeeper-system", "azure-arc"}
)

// AlwaysExcluded are excluded by the add-on whatever the assignment says
// ("System namespaces kube-system, gatekeeper-system and azure-arc are
// always excluded by design").
var AlwaysExcluded = []string{"kube-system", "gatekeeper-system", "azure-arc"}

func common(d Definition, excluded []any) Definition {
	if d.Defaults == nil {
		d.Defaults = map[string]any{}
	}
	d.Defaults["excludedNamespaces"] = excluded
	if _, ok := d.Defaults["namespaces"]; !ok {
		d.Defaults["namespaces"] = []any{}
	}
	if _, ok := d.Defaults["source"]; !ok {
		d.Defaults["source"] = "Original"
	}
	if _, ok := d.Defaults["excludedImages"]; !ok {
		d.Defaults["excludedImages"] = []any{}
	}
	if _, ok := d.Defaults["excludedContainers"]; !ok {
		d.Defaults["excludedContainers"] = []any{}
	}
	return d
}

func excl(extra map[string]string) map[string]string {
	m := map[string]string{"excludedContainers": "excludedContainers", "excludedImages": "excludedImages"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// Definitions are the built-ins akssec ships templates for, keyed by GUID
// (Azure/azure-policy built-in-policies/policyDefinitions/Kubernetes at
// f4a50bacae07; see the reference's Appendix A).
var Definitions = func() map[string]*Definition {
	defs := []Definition{
		common(Definition{ID: "95edb821-ddaf-4404-9732-666045e056b4", Name: "ContainerNoPrivilege", DisplayName: "Kubernetes cluster should not allow privileged containers", Version: "9.2.0", DefaultEffect: "Deny",
			Template: "container-no-privilege-v2", Kinds: podKinds, Values: excl(nil), Recommended: "Deny"}, excludedA),
		common(Definition{ID: "1c6e92c9-99f0-4e55-9cf2-0c234dc48f99", Name: "ContainerNoPrivilegeEscalation", DisplayName: "Kubernetes clusters should not allow container privilege escalation", Version: "8.0.0", DefaultEffect: "Audit",
			Template: "container-no-privilege-escalation-v4", Kinds: podKinds, Values: excl(map[string]string{"forcePrivilegeEscalationToBeFalse": "forcePrivilegeEscalationToBeFalse"}),
			Defaults: map[string]any{"forcePrivilegeEscalationToBeFalse": false}, Recommended: "Deny"}, excludedA),
		common(Definition{ID: "e345eecc-fa47-480f-9e88-67dcc122b164", Name: "ContainerResourceLimits", DisplayName: "Kubernetes cluster containers CPU and memory resource limits should not exceed the specified limits", Version: "9.3.0", DefaultEffect: "Deny",
			Template: "container-resource-limits-v3", Kinds: podKinds, Values: excl(map[string]string{"cpuLimit": "cpuLimit", "memoryLimit": "memoryLimit"})}, excludedA),
		common(Definition{ID: "febd0533-8e55-448f-b837-bd0e06f16469", Name: "ContainerAllowedImages", DisplayName: "Kubernetes cluster containers should only use allowed images", Version: "9.3.0", DefaultEffect: "Deny",
			Template: "container-allowed-images-v2", Kinds: podKinds, Values: map[string]string{"imageRegex": "allowedContainerImagesRegex", "excludedContainers": "excludedContainers"}, Recommended: "Deny"}, excludedA),
		common(Definition{ID: "82985f06-dc18-4a48-bc1c-b9f4f0098cfe", Name: "HostNetworkPorts", DisplayName: "Kubernetes cluster pods should only use approved host network and port list", Version: "7.0.0", DefaultEffect: "Audit",
			Template: "host-network-ports-v4", Kinds: podKinds, Values: map[string]string{"allowHostNetwork": "allowHostNetwork", "allowedHostPorts": "allowedHostPorts", "excludedImages": "excludedImages"},
			Defaults: map[string]any{"allowHostNetwork": false, "allowedHostPorts": []any{}}, Recommended: "Deny"}, excludedA),
		common(Definition{ID: "47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8", Name: "BlockHostNamespace", DisplayName: "Kubernetes cluster containers should not share host namespaces", Version: "6.0.0", DefaultEffect: "Audit",
			Template: "block-host-namespace-v3", Kinds: podKinds, Values: map[string]string{"excludedImages": "excludedImages"}, Recommended: "Deny"}, excludedA),
		common(Definition{ID: "df49d893-a74c-421d-bc95-c663042e5b80", Name: "ReadOnlyRootFileSystem", DisplayName: "Kubernetes cluster containers should run with a read only root file system", Version: "6.3.0", DefaultEffect: "Audit",
			Template: "read-only-root-filesystem-v3", Kinds: podKinds, Values: excl(nil), Recommended: "Deny"}, excludedA),
		common(Definition{ID: "c26596ff-4d70-4e6a-9a30-c2506bd2f80c", Name: "ContainerAllowedCapabilities", DisplayName: "Kubernetes cluster containers should only use allowed capabilities", Version: "6.2.0", DefaultEffect: "Audit",
			Template: "container-allowed-capabilities-v3", Kinds: podKinds, Values: excl(map[string]string{"allowedCapabilities": "allowedCapabilities", "requiredDropCapabilities": "requiredDropCapabilities"}),
			Defaults: map[string]any{"allowedCapabilities": []any{}, "requiredDropCapabilities": []any{}}}, excludedA),
		common(Definition{ID: "a27c700f-8a22-44ec-961c-41625264370b", Name: "ContainerDisallowedCapabilities", DisplayName: "Kubernetes clusters should not use specific security capabilities", Version: "5.2.0", DefaultEffect: "Audit",
			Template: "container-disallowed-capabilities-v3", Kinds: podKinds, Values: excl(map[string]string{"disallowedCapabilities": "disallowedCapabilities"}),
			Defaults: map[string]any{"disallowedCapabilities": []any{}}}, excludedA),
		common(Definition{ID: "d2e7ea85-6b44-4317-a0be-1b951587f626", Name: "ContainerDisallowedSysAdminCapability", DisplayName: "Kubernetes clusters should not grant CAP_SYS_ADMIN security capabilities", Version: "5.1.0", DefaultEffect: "Audit",
			Template: "container-disallowed-capabilities-v3", Kinds: podKinds, Values: excl(nil), Fixed: map[string]any{"disallowedCapabilities": []any{"SYS_ADMIN"}}, Recommended: "Deny"}, excludedA),
		common(Definition{ID: "975ce327-682c-4f2e-aa46-b9598289b86c", Name: "AllowedSeccompProfile", DisplayName: "Kubernetes cluster containers should only use allowed seccomp profiles", Version: "7.2.0", DefaultEffect: "Audit",
			Template: "allowed-seccomp-profiles-v3", Kinds: podKinds, Values: excl(map[string]string{"allowedProfiles": "allowedProfiles"}),
			Defaults: map[string]any{"allowedProfiles": []any{"runtime/default", "docker/default"}}}, excludedA),
		common(Definition{ID: "511f5417-5d12-434d-ab2e-816901e72a5e", Name: "EnforceAppArmorProfile", DisplayName: "Kubernetes cluster containers should only use allowed AppArmor profiles", Version: "6.2.1", DefaultEffect: "Audit",
			Template: "enforce-apparmor-profile-v3", Kinds: podKinds, Values: excl(map[string]string{"allowedProfiles": "allowedProfiles"}),
			Defaults: map[string]any{"allowedProfiles": []any{"runtime/default"}}}, excludedA),
		common(Definition{ID: "098fc59e-46c7-4d99-9b16-64990e543d75", Name: "AllowedHostPaths", DisplayName: "Kubernetes cluster pod hostPath volumes should only use allowed host paths", Version: "6.3.0", DefaultEffect: "Audit",
			Template: "allowed-host-paths-v4", Kinds: podKinds, Values: excl(map[string]string{"allowedHostPaths": "allowedHostPaths.paths"}),
			Defaults: map[string]any{"allowedHostPaths": map[string]any{"paths": []any{}}}, Recommended: "Deny"}, excludedA),
		common(Definition{ID: "423dd1ba-798e-40e4-9c4d-b6902674b423", Name: "BlockAutomountToken", DisplayName: "Kubernetes clusters should disable automounting API credentials", Version: "4.2.0", DefaultEffect: "Audit",
			Template: "block-automount-token-v2", Kinds: podKinds, Values: map[string]string{"excludedImages": "excludedImages"}}, excludedA),
		common(Definition{ID: "16697877-1118-4fb1-9b65-9898ec2509ec", Name: "AllowedVolumeTypes", DisplayName: "Kubernetes cluster pods should only use allowed volume types", Version: "5.2.0", DefaultEffect: "Audit",
			Template: "allowed-volume-types-v2", Kinds: podKinds, Values: map[string]string{"volumes": "allowedVolumeTypes", "excludedImages": "excludedImages"},
			Defaults: map[string]any{"allowedVolumeTypes": []any{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}}}, excludedA),
		common(Definition{ID: "f06ddb64-5fa3-4b77-b166-acb36f7f6042", Name: "AllowedUsersGroups", DisplayName: "Kubernetes cluster pods and containers should only run with approved user and group IDs", Version: "6.2.0", DefaultEffect: "Audit",
			Template: "allowed-users-groups-v3", Kinds: podKinds,
			Values: excl(map[string]string{
				"runAsUser.rule": "runAsUserRule", "runAsUser.ranges": "runAsUserRanges.ranges",
				"runAsGroup.rule": "runAsGroupRule", "runAsGroup.ranges": "runAsGroupRanges.ranges",
				"supplementalGroups.rule": "supplementalGroupsRule", "supplementalGroups.ranges": "supplementalGroupsRanges.ranges",
				"fsGroup.rule": "fsGroupRule", "fsGroup.ranges": "fsGroupRanges.ranges",
			}),
			Defaults: map[string]any{
				"runAsUserRule": "MustRunAsNonRoot", "runAsUserRanges": map[string]any{"ranges": []any{}},
				"runAsGroupRule": "RunAsAny", "runAsGroupRanges": map[string]any{"ranges": []any{}},
				"supplementalGroupsRule": "RunAsAny", "supplementalGroupsRanges": map[string]any{"ranges": []any{}},
				"fsGroupRule": "RunAsAny", "fsGroupRanges": map[string]any{"ranges": []any{}},
			}}, excludedA),
		common(Definition{ID: "021f8078-41a0-40e6-81b6-c6597da9f3ee", Name: "ImagesDoNotUseLatest", DisplayName: "Kubernetes cluster container images should not include latest image tag", Version: "2.0.1", DefaultEffect: "Audit",
			Template: "container-no-latest-image-v2", Kinds: podKinds, Values: map[string]string{"excludedImages": "excludedImages"}}, excludedB),
		common(Definition{ID: "3fc4dc25-5baf-40d8-9b05-7fe74c1bc64e", Name: "LoadbalancerNoPublicIPs", DisplayName: "Kubernetes clusters should use internal load balancers", Version: "8.2.0", DefaultEffect: "Deny",
			Template: "load-balancer-no-public-ips-v1", Kinds: []gatekeeper.Kinds{{APIGroups: []string{""}, Kinds: []string{"Service"}}}}, excludedA),
		common(Definition{ID: "1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d", Name: "IngressHttpsOnly", DisplayName: "Kubernetes clusters should be accessible only over HTTPS", Version: "9.0.0", DefaultEffect: "Deny",
			Template: "ingress-https-only-v2", Kinds: []gatekeeper.Kinds{{APIGroups: []string{"extensions", "networking.k8s.io"}, Kinds: []string{"Ingress"}}}}, excludedA),
		common(Definition{ID: "9f061a12-e40d-4183-a00e-171812443373", Name: "BlockDefaultNamespace", DisplayName: "Kubernetes clusters should not use the default namespace", Version: "4.2.0", DefaultEffect: "Audit",
			Template: "block-default-namespace-v1", Kinds: []gatekeeper.Kinds{{APIGroups: []string{""}, Kinds: []string{"Pod", "Service", "ServiceAccount"}}}}, excludedA),
	}
	m := make(map[string]*Definition, len(defs))
	for i := range defs {
		m[defs[i].ID] = &defs[i]
	}
	return m
}()

// Initiative is a built-in policy set for Kubernetes: its members pin
// definition major versions, which can mean older templates (the pod
// security initiatives pin HostNetworkPorts 6.*.*, still minPort/maxPort).
type Initiative struct {
	ID          string
	DisplayName string
	Version     string
	Members     []Member
}

// Member is one definition of an initiative with the values it passes.
type Member struct {
	ReferenceID string
	Definition  *Definition
	// Template overrides the definition's template for the pinned version.
	Template string
	// Values, when set, replace the definition's values mapping (the pinned
	// version's parameters).
	Values map[string]string
	// Parameters are the member's parameter values (before the initiative's
	// own parameters are applied).
	Parameters map[string]any
}

func memberOf(id, ref, tmpl string, params map[string]any) Member {
	m := Member{ReferenceID: ref, Definition: Definitions[id], Template: tmpl, Parameters: params}
	if tmpl == "host-network-ports-v3" {
		m.Values = excl(map[string]string{"allowHostNetwork": "allowHostNetwork", "minPort": "minPort", "maxPort": "maxPort"})
	}
	return m
}

// Initiatives are the two pod-security initiatives (reference §2.3).
var Initiatives = map[string]*Initiative{
	"a8640138-9b0a-4a28-b8cb-1666c838647d": {
		ID: "a8640138-9b0a-4a28-b8cb-1666c838647d", DisplayName: "Kubernetes cluster pod security baseline standards for Linux-based workloads", Version: "1.4.0",
		Members: []Member{
			memberOf("95edb821-ddaf-4404-9732-666045e056b4", "ContainerNoPrivilege", "", nil),
			memberOf("82985f06-dc18-4a48-bc1c-b9f4f0098cfe", "HostNetworkPorts", "host-network-ports-v3", map[string]any{"allowHostNetwork": false, "minPort": 0, "maxPort": 0}),
			memberOf("47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8", "BlockHostNamespace", "block-host-namespace-v2", nil),
			memberOf("c26596ff-4d70-4e6a-9a30-c2506bd2f80c", "ContainerAllowedCapabilities", "", map[string]any{"allowedCapabilities": baselineCapabilities, "requiredDropCapabilities": []any{}}),
			memberOf("098fc59e-46c7-4d99-9b16-64990e543d75", "AllowedHostPaths", "", map[string]any{"allowedHostPaths": map[string]any{"paths": []any{}}}),
		},
	},
	"42b8ef37-b724-4e24-bbc8-7a7708edfe00": {
		ID: "42b8ef37-b724-4e24-bbc8-7a7708edfe00", DisplayName: "Kubernetes cluster pod security restricted standards for Linux-based workloads", Version: "2.5.0",
		Members: []Member{
			memberOf("95edb821-ddaf-4404-9732-666045e056b4", "ContainerNoPrivilege", "", nil),
			memberOf("82985f06-dc18-4a48-bc1c-b9f4f0098cfe", "HostNetworkPorts", "host-network-ports-v3", map[string]any{"allowHostNetwork": false, "minPort": 0, "maxPort": 0}),
			memberOf("47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8", "BlockHostNamespace", "block-host-namespace-v2", nil),
			memberOf("c26596ff-4d70-4e6a-9a30-c2506bd2f80c", "ContainerAllowedCapabilities", "", map[string]any{"allowedCapabilities": []any{}, "requiredDropCapabilities": []any{}}),
			memberOf("1c6e92c9-99f0-4e55-9cf2-0c234dc48f99", "ContainerNoPrivilegeEscalation", "", nil),
			memberOf("16697877-1118-4fb1-9b65-9898ec2509ec", "AllowedVolumeTypes", "", map[string]any{"allowedVolumeTypes": []any{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}}),
			memberOf("f06ddb64-5fa3-4b77-b166-acb36f7f6042", "AllowedUsersGroups", "", map[string]any{
				"runAsUserRule": "MustRunAsNonRoot", "runAsUserRanges": map[string]any{"ranges": []any{}},
				"runAsGroupRule": "MustRunAs", "runAsGroupRanges": map[string]any{"ranges": []any{map[string]any{"min": 1, "max": 65535}}},
				"supplementalGroupsRule": "MustRunAs", "supplementalGroupsRanges": map[string]any{"ranges": []any{map[string]any{"min": 1, "max": 65535}}},
				"fsGroupRule": "MustRunAs", "fsGroupRanges": map[string]any{"ranges": []any{map[string]any{"min": 1, "max": 65535}}},
			}),
			memberOf("975ce327-682c-4f2e-aa46-b9598289b86c", "AllowedSeccompProfile", "", map[string]any{"allowedProfiles": []any{"runtime/default", "docker/default"}}),
		},
	},
}

// baselineCapabilities is what the baseline initiative allows: PSS
// baseline's list plus NET_RAW.
var baselineCapabilities = []any{"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"}

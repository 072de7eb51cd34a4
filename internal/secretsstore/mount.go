package secretsstore

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/crd"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/keyvault"
	"github.com/akssec/akssec/internal/secretsstore/types"
	"github.com/akssec/akssec/internal/source"
	"github.com/akssec/akssec/internal/workloadid"
)

// Driver is the Secrets Store CSI driver's name in a pod's csi volume.
const Driver = "secrets-store.csi.k8s.io"

// DefaultFileMode is the driver's default permission for written files.
const DefaultFileMode int32 = 0o644

// Status of one step of a mount.
type Status string

// Step statuses.
const (
	StatusOK      Status = "ok"
	StatusFailed  Status = "failed"
	StatusUnknown Status = "unknown" // the snapshot lacks what the step needs
	StatusSkipped Status = "skipped" // an earlier step failed
)

// Step is one link of the chain pod → ServiceAccount → identity → federated
// credential → token exchange → vault → object.
type Step struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail says what was found.
	Detail string `json:"detail,omitempty"`
	// Error is the real component's error text when the step fails.
	Error string `json:"error,omitempty"`
	// Fix says what to change.
	Fix      string            `json:"fix,omitempty"`
	Evidence []source.Location `json:"evidence,omitempty"`
}

// File is one file the mount writes (never its content).
type File struct {
	Container string `json:"container"`
	Path      string `json:"path"`
	Mode      string `json:"mode"`
	Object    string `json:"object"`
	Type      string `json:"type"`
}

// SyncedSecret is a Kubernetes Secret the driver creates from the mount
// (spec.secretObjects); it exists only while a pod mounts the class.
type SyncedSecret struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Keys  []string        `json:"keys"`
	Error string          `json:"error,omitempty"`
	Loc   source.Location `json:"location"`
}

// Volume is the resolution of one secrets-store volume of a pod.
type Volume struct {
	Name  string `json:"volume"`
	Class string `json:"secretProviderClass"`
	// ClassLoc is where the SecretProviderClass is (zero when missing).
	ClassLoc source.Location `json:"classLocation"`
	Mode     IdentityMode    `json:"identityMode,omitempty"`
	// Identity is the managed identity the provider authenticates as, when
	// known.
	Identity *azure.Identity `json:"-"`
	// Caller is the token's principal (empty ObjectID when unknown).
	Caller keyvault.Caller `json:"-"`
	Vault  *azure.Vault    `json:"-"`
	Steps  []Step          `json:"steps"`
	Files  []File          `json:"files,omitempty"`
	Synced []SyncedSecret  `json:"syncedSecrets,omitempty"`
	// Status is ok, failed or unknown (some step could not be decided).
	Status Status `json:"status"`
	// Event is the pod event kubelet records on failure.
	Event string `json:"event,omitempty"`
	// Objects are the parsed objects (nil when parsing failed).
	Objects []types.KeyVaultObject `json:"-"`
}

// Mount is the resolution of every secrets-store volume of a pod.
type Mount struct {
	Pod     *env.Pod `json:"-"`
	Ref     string   `json:"pod"`
	Volumes []Volume `json:"volumes"`
	// Status is failed if any volume fails, else unknown if any is
	// unknown, else ok (also for a pod without secrets-store volumes).
	Status Status `json:"status"`
}

type parsedClass struct {
	item   *env.Item[crd.SecretProviderClass]
	params *Parameters
	err    error // without nodePublishSecretRef
	errSP  error // with nodePublishSecretRef
	paramS *Parameters
}

// Resolver resolves mounts for one Environment. Immutable after New; safe
// for concurrent use.
type Resolver struct {
	e       *env.Environment
	fed     *workloadid.Federation
	kv      *keyvault.Authorizer
	vaults  map[string]*azure.Vault
	secrets map[string]map[string]*azure.SecretItem // vault (lower) → secret name (lower) → item
	classes map[string]*parsedClass                 // ns/name
	vmss    map[string]string                       // client ID (lower) → which VMSS identity
	sa      map[string]*env.Item[corev1.ServiceAccount]
	podID   *podIdentityIndex
}

// New prepares a Resolver: the parsed SecretProviderClasses, vaults and
// their secret lists, identities and their federated credentials, and the
// Key Vault authorizer.
func New(e *env.Environment) *Resolver {
	r := &Resolver{e: e, fed: workloadid.NewFederation(e), kv: keyvault.New(e), vaults: map[string]*azure.Vault{},
		secrets: map[string]map[string]*azure.SecretItem{}, classes: map[string]*parsedClass{}, vmss: map[string]string{},
		sa: map[string]*env.Item[corev1.ServiceAccount]{}}
	for _, v := range e.Azure.Vaults {
		r.vaults[strings.ToLower(v.Name)] = v
	}
	for _, s := range e.Azure.Secrets {
		vn := strings.ToLower(s.Vault)
		if vn == "" {
			vn = vaultFromSecretID(s.ID)
		}
		m := r.secrets[vn]
		if m == nil {
			m = map[string]*azure.SecretItem{}
			r.secrets[vn] = m
		}
		m[strings.ToLower(s.SecretName())] = s
	}
	for i := range e.SecretProviderClasses {
		it := &e.SecretProviderClasses[i]
		pc := &parsedClass{item: it}
		pc.params, pc.err = ParseParameters(it.Obj.Spec.Parameters, false)
		pc.paramS, pc.errSP = ParseParameters(it.Obj.Spec.Parameters, true)
		r.classes[it.Obj.Namespace+"/"+it.Obj.Name] = pc
	}
	for i := range e.ServiceAccounts {
		it := &e.ServiceAccounts[i]
		r.sa[it.Obj.Namespace+"/"+it.Obj.Name] = it
	}
	if c := e.Cluster; c != nil {
		if k := c.KubeletIdentity(); k != nil && k.ClientID != "" {
			r.vmss[strings.ToLower(k.ClientID)] = "the kubelet identity"
		}
		for name, a := range c.AddonProfiles {
			if a != nil && a.Enabled && a.Identity != nil && a.Identity.ClientID != "" {
				r.vmss[strings.ToLower(a.Identity.ClientID)] = "the " + name + " add-on identity"
			}
		}
	}
	r.podID = newPodIdentityIndex(e, r.fed)
	return r
}

// Federation is the prepared federation of the Resolver's Environment.
func (r *Resolver) Federation() *workloadid.Federation { return r.fed }

// Authorizer is the prepared Key Vault authorizer.
func (r *Resolver) Authorizer() *keyvault.Authorizer { return r.kv }

// Vault returns the vault with the name (case-insensitive, as DNS), or nil.
func (r *Resolver) Vault(name string) *azure.Vault { return r.vaults[strings.ToLower(name)] }

// SecretListed reports whether the snapshot holds the vault's secret list,
// and the item for the name when it does.
func (r *Resolver) SecretListed(vault, name string) (listed bool, item *azure.SecretItem) {
	m, ok := r.secrets[strings.ToLower(vault)]
	if !ok {
		return false, nil
	}
	return true, m[strings.ToLower(name)]
}

func vaultFromSecretID(id string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(id, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	h, _, _ = strings.Cut(h, ".")
	return strings.ToLower(h)
}

// Class returns the parsed parameters of a SecretProviderClass and the
// provider's error for it (for a volume without nodePublishSecretRef).
func (r *Resolver) Class(ns, name string) (*env.Item[crd.SecretProviderClass], *Parameters, error) {
	pc := r.classes[ns+"/"+name]
	if pc == nil {
		return nil, nil, nil
	}
	return pc.item, pc.params, pc.err
}

// SecretsStoreVolumes returns the pod's secrets-store CSI volumes.
func SecretsStoreVolumes(pod *corev1.Pod) []*corev1.Volume {
	var out []*corev1.Volume
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.CSI != nil && v.CSI.Driver == Driver {
			out = append(out, v)
		}
	}
	return out
}

// Resolve decides every secrets-store volume of a pod.
func (r *Resolver) Resolve(pod *env.Pod) Mount {
	m := Mount{Pod: pod, Ref: pod.Ref(), Status: StatusOK}
	for _, v := range SecretsStoreVolumes(pod.Pod) {
		vol := r.resolveVolume(pod, v)
		m.Volumes = append(m.Volumes, vol)
		switch {
		case vol.Status == StatusFailed:
			m.Status = StatusFailed
		case vol.Status == StatusUnknown && m.Status == StatusOK:
			m.Status = StatusUnknown
		}
	}
	return m
}

type volumeBuilder struct {
	v      Volume
	failed bool
	unsure bool
}

func (b *volumeBuilder) add(s Step) {
	if b.failed && s.Status != StatusFailed {
		s.Status = StatusSkipped
	}
	switch s.Status {
	case StatusFailed:
		b.failed = true
	case StatusUnknown:
		b.unsure = true
	}
	b.v.Steps = append(b.v.Steps, s)
}

func (b *volumeBuilder) fail(s Step, event string) {
	s.Status = StatusFailed
	if !b.failed && b.v.Event == "" {
		b.v.Event = event
	}
	b.add(s)
}

func (r *Resolver) resolveVolume(pod *env.Pod, vol *corev1.Volume) Volume {
	b := &volumeBuilder{v: Volume{Name: vol.Name}}
	ns := pod.Namespace
	class := vol.CSI.VolumeAttributes["secretProviderClass"]
	b.v.Class = class

	// pod
	mounts := containerMounts(pod.Pod, vol.Name)
	podStep := Step{Name: "pod", Status: StatusOK, Evidence: []source.Location{pod.Loc},
		Detail: fmt.Sprintf("%s mounts volume %q (driver %s)", pod.Ref(), vol.Name, Driver)}
	if len(mounts) == 0 {
		podStep.Detail += "; no container mounts it, so no file is visible"
	}
	// The driver checks, in order: volume attributes present, class named,
	// class found (with a provider), then the volume read-only.
	pcFound := class != "" && r.classes[ns+"/"+class] != nil && r.classes[ns+"/"+class].item.Obj.Spec.Provider != ""
	switch {
	case len(vol.CSI.VolumeAttributes) == 0:
		podStep.Error = "Volume attributes missing in request"
		podStep.Fix = fmt.Sprintf("set volumeAttributes.secretProviderClass on the csi volume %q", vol.Name)
		b.fail(podStep, driverEvent(vol.Name, "InvalidArgument", podStep.Error))
	case class == "":
		podStep.Error = "secretProviderClass is not set"
		podStep.Fix = fmt.Sprintf("set volumeAttributes.secretProviderClass on the csi volume %q", vol.Name)
		b.fail(podStep, driverEvent(vol.Name, "Unknown", podStep.Error))
	case pcFound && (vol.CSI.ReadOnly == nil || !*vol.CSI.ReadOnly):
		podStep.Error = "Readonly is not true in request"
		podStep.Fix = fmt.Sprintf("set readOnly: true on the csi volume %q", vol.Name)
		b.fail(podStep, driverEvent(vol.Name, "InvalidArgument", podStep.Error))
	default:
		b.add(podStep)
	}

	// ServiceAccount
	saName := pod.Spec.ServiceAccountName
	if saName == "" {
		saName = "default"
	}
	sa := r.sa[ns+"/"+saName]
	saStep := Step{Name: "service account", Status: StatusOK}
	if sa == nil {
		saStep.Status = StatusUnknown
		saStep.Detail = fmt.Sprintf("ServiceAccount %s/%s is not in the snapshot; the API server refuses pods whose ServiceAccount does not exist", ns, saName)
		saStep.Fix = fmt.Sprintf("kubectl create serviceaccount %s -n %s", saName, ns)
	} else {
		saStep.Evidence = []source.Location{sa.Loc}
		saStep.Detail = fmt.Sprintf("ServiceAccount %s/%s; kubelet passes the driver a token for it with audience %s (subject %s)", ns, saName, workloadid.TokenExchangeAudience, workloadid.Subject(ns, saName))
		if cid := sa.Obj.Annotations[workloadid.AnnotationClientID]; cid != "" {
			saStep.Detail += fmt.Sprintf("; annotated client-id %s", cid)
		}
	}
	b.add(saStep)

	// SecretProviderClass
	pc := r.classes[ns+"/"+class]
	hasNP := vol.CSI.NodePublishSecretRef != nil && vol.CSI.NodePublishSecretRef.Name != ""
	spcStep := Step{Name: "secret provider class"}
	var params *Parameters
	var perr error
	switch {
	case class == "":
		spcStep.Status = StatusSkipped
	case pc == nil:
		spcStep.Error = fmt.Sprintf("failed to get secretproviderclass %s/%s, error: secretproviderclasses.secrets-store.csi.x-k8s.io %q not found", ns, class, class)
		spcStep.Fix = fmt.Sprintf("create SecretProviderClass %s in namespace %s (a pod can only use a class of its own namespace)", class, ns)
		if others := r.classesNamed(class); len(others) > 0 {
			spcStep.Fix += "; a class of that name exists in " + strings.Join(others, ", ")
		}
		b.fail(spcStep, driverEvent(vol.Name, "Unknown", spcStep.Error))
	default:
		b.v.ClassLoc = pc.item.Loc
		spcStep.Evidence = []source.Location{pc.item.Loc}
		params, perr = pc.params, pc.err
		if hasNP {
			params, perr = pc.paramS, pc.errSP
		}
		prov := pc.item.Obj.Spec.Provider
		switch {
		case prov == "":
			spcStep.Error = "providerName is not set"
			spcStep.Fix = "set spec.provider: azure"
			b.fail(spcStep, driverEvent(vol.Name, "Unknown", spcStep.Error))
		case prov != "azure":
			spcStep.Status = StatusUnknown
			spcStep.Detail = fmt.Sprintf("provider %q is not the Azure Key Vault provider; akssec decides only azure", prov)
		case perr != nil:
			spcStep.Error = perr.Error()
			spcStep.Fix = parameterFix(perr)
			b.fail(spcStep, mountEvent(vol.Name, ns, pod.Name, perr.Error()))
		default:
			spcStep.Status = StatusOK
			spcStep.Detail = fmt.Sprintf("%s/%s: vault %s, tenant %s, %s, %d object(s)", ns, class, params.KeyVaultName, params.TenantID, params.Mode, len(params.Objects))
			if params.TenantIDFromDeprecated {
				spcStep.Detail += " (tenantId is deprecated; use tenantID)"
			}
			b.v.Mode = params.Mode
			b.v.Objects = params.Objects
		}
	}
	if spcStep.Status != StatusFailed {
		b.add(spcStep)
	}
	if params == nil || perr != nil || (pc != nil && pc.item.Obj.Spec.Provider != "azure") {
		return r.finish(b, pod, pc, mounts)
	}

	// identity and token
	cloud, _ := params.CloudOf()
	r.identitySteps(b, pod, vol, saName, sa, params, cloud)

	// vault
	url, verr := params.VaultURL()
	vStep := Step{Name: "vault"}
	vault := r.Vault(params.KeyVaultName)
	switch {
	case verr != nil:
		vStep.Error = verr.Error()
		vStep.Fix = "keyvaultName must be the vault's name (3-24 letters, digits and dashes), not its URL"
		b.fail(vStep, mountEvent(vol.Name, ns, pod.Name, verr.Error()))
	case vault == nil:
		vStep.Status = StatusUnknown
		vStep.Detail = fmt.Sprintf("%s: vault %s is not in the snapshot (azure/keyvaults/%s.json); its authorization is not checked", url, params.KeyVaultName, params.KeyVaultName)
		vStep.Fix = fmt.Sprintf("capture it: az keyvault show --name %s > azure/keyvaults/%s.json", params.KeyVaultName, params.KeyVaultName)
		b.add(vStep)
	default:
		b.v.Vault = vault
		model := keyvault.ModelAccessPolicy
		if vault.RBAC() {
			model = keyvault.ModelRBAC
		}
		vStep.Status = StatusOK
		vStep.Evidence = []source.Location{vault.Src}
		vStep.Detail = fmt.Sprintf("%s (%s, permission model: %s)", url, vault.ID, model)
		if strings.EqualFold(vault.Properties.PublicNetworkAccess, "Disabled") || (vault.Properties.NetworkACLs != nil && strings.EqualFold(vault.Properties.NetworkACLs.DefaultAction, "Deny")) {
			vStep.Detail += "; the vault firewall denies by default, so the node's address must be allowed or reach it through a private endpoint (not in the snapshot)"
		}
		b.add(vStep)
	}

	// objects
	for _, o := range params.Objects {
		r.objectStep(b, pod, vol, params, url, vault, o)
	}
	return r.finish(b, pod, pc, mounts)
}

func (r *Resolver) classesNamed(name string) []string {
	var out []string
	for k, pc := range r.classes {
		if pc.item.Obj.Name == name {
			out = append(out, strings.SplitN(k, "/", 2)[0])
		}
	}
	sort.Strings(out)
	return out
}

func parameterFix(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "keyvaultName is not set"):
		return "set parameters.keyvaultName to the vault's name"
	case strings.Contains(s, "tenantId is not set"):
		return "set parameters.tenantID to the vault's tenant ID (az keyvault show -n VAULT --query properties.tenantId)"
	case strings.Contains(s, "no identity mode is enabled"):
		return "set parameters.clientID to the client ID of a managed identity federated with the pod's ServiceAccount (workload identity), or useVMManagedIdentity: \"true\" with userAssignedIdentityID"
	case strings.Contains(s, "only one identity mode"):
		return "keep exactly one of usePodIdentity, useVMManagedIdentity, useAzureTokenProxy true"
	case strings.Contains(s, "objects is not set"):
		return "list the objects to mount under parameters.objects (array: of YAML strings)"
	case strings.Contains(s, "unmarshal"):
		return "parameters.objects must be a YAML string holding `array:`, each element itself a YAML string (use `- |`)"
	case strings.Contains(s, "flag"):
		return "boolean parameters take \"true\" or \"false\""
	}
	return "correct the SecretProviderClass parameter named in the error"
}

func containerMounts(pod *corev1.Pod, volume string) []struct{ container, path string } {
	var out []struct{ container, path string }
	add := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, vm := range c.VolumeMounts {
				if vm.Name == volume {
					p := vm.MountPath
					if vm.SubPath != "" {
						p += " (subPath " + vm.SubPath + ")"
					}
					out = append(out, struct{ container, path string }{c.Name, p})
				}
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

func (b *volumeBuilder) status() Status {
	switch {
	case b.failed:
		return StatusFailed
	case b.unsure:
		return StatusUnknown
	}
	return StatusOK
}

func (b *volumeBuilder) finishStatus() { b.v.Status = b.status() }

func (r *Resolver) finish(b *volumeBuilder, pod *env.Pod, pc *parsedClass, mounts []struct{ container, path string }) Volume {
	b.finishStatus()
	if b.v.Status == StatusFailed {
		return b.v
	}
	// files: one per object (objectVersionHistory > 1: one per version),
	// under every container mount of the volume.
	for _, o := range b.v.Objects {
		mode, _ := FileMode(o, DefaultFileMode)
		names := []string{FileName(o)}
		if o.ObjectVersionHistory > 1 {
			names = names[:0]
			for i := int32(0); i < o.ObjectVersionHistory; i++ {
				names = append(names, FileName(o)+"/"+strconv.Itoa(int(i)))
			}
		}
		for _, cm := range mounts {
			for _, n := range names {
				b.v.Files = append(b.v.Files, File{Container: cm.container, Path: strings.TrimSuffix(cm.path, "/") + "/" + n, Mode: fileMode(mode), Object: o.ObjectName, Type: o.ObjectType})
			}
		}
	}
	if pc != nil {
		b.v.Synced = syncedSecrets(pc, b.v.Objects)
	}
	return b.v
}

// syncedSecrets are the Kubernetes Secrets the driver creates from the
// mount (spec.secretObjects). Each data entry's objectName must equal a
// mounted file name (the object's alias when it has one).
func syncedSecrets(pc *parsedClass, objs []types.KeyVaultObject) []SyncedSecret {
	files := map[string]bool{}
	for _, o := range objs {
		files[FileName(o)] = true
	}
	var out []SyncedSecret
	spc := pc.item.Obj
	for _, so := range spc.Spec.SecretObjects {
		if so == nil {
			continue
		}
		s := SyncedSecret{Name: so.SecretName, Type: so.Type, Loc: pc.item.Loc}
		for _, d := range so.Data {
			if d == nil {
				continue
			}
			s.Keys = append(s.Keys, d.Key)
			if !files[d.ObjectName] && s.Error == "" {
				s.Error = fmt.Sprintf("failed to get data in spc %s/%s for secret %s, err: file matching objectName %s not found in the pod", spc.Namespace, spc.Name, so.SecretName, d.ObjectName)
			}
		}
		if so.SecretName == "" || so.Type == "" {
			s.Error = "secretObjects entries need secretName and type (akssec: the driver cannot create this Secret)"
		}
		out = append(out, s)
	}
	return out
}

// fileMode renders a permission as kubectl and ls users read it.
func fileMode(m int32) string { return "0" + strconv.FormatInt(int64(m), 8) }

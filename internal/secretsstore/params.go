// Package secretsstore decides what the Secrets Store CSI driver with the
// Azure Key Vault provider does when a pod mounts a secrets-store volume:
// how it reads the SecretProviderClass (every parameter, the nested `objects`
// YAML, with the provider's own error wording), which identity it
// authenticates as (workload identity clientID, VM managed identity, the
// deprecated pod identity, a service principal secret), the token exchange,
// the vault, Key Vault's authorization of each object, the object's
// existence in the snapshot, the files written and the Kubernetes Secrets
// synced from them.
//
// A Resolver is prepared once from an Environment and is safe for concurrent
// use. It never sees a secret value: the snapshot holds names only.
package secretsstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/akssec/akssec/internal/secretsstore/types"
)

// Parameter names of the Azure provider.
const (
	ParamKeyVaultName           = "keyvaultName"
	ParamTenantID               = "tenantID"
	ParamTenantIDDeprecated     = "tenantId"
	ParamClientID               = "clientID"
	ParamUsePodIdentity         = "usePodIdentity"
	ParamUseVMManagedIdentity   = "useVMManagedIdentity"
	ParamUserAssignedIdentityID = "userAssignedIdentityID"
	ParamUseAzureTokenProxy     = "useAzureTokenProxy"
	ParamCloudName              = "cloudName"
	ParamCloudEnvFileName       = "cloudEnvFileName"
	ParamObjects                = "objects"
)

// IdentityMode is how the provider authenticates to Entra.
type IdentityMode string

// The identity modes, in the provider's order of precedence.
const (
	ModePodIdentity      IdentityMode = "pod identity (deprecated)"
	ModeVMManagedID      IdentityMode = "VM managed identity"
	ModeAzureTokenProxy  IdentityMode = "identity binding (token proxy)"
	ModeWorkloadIdentity IdentityMode = "workload identity"
	ModeServicePrincipal IdentityMode = "service principal secret"
)

// Parameters are a SecretProviderClass's parameters as the provider reads
// them (values trimmed of surrounding space).
type Parameters struct {
	KeyVaultName           string
	TenantID               string
	TenantIDFromDeprecated bool // read from tenantId, the deprecated spelling
	ClientID               string
	UsePodIdentity         bool
	UseVMManagedIdentity   bool
	UseAzureTokenProxy     bool
	UserAssignedIdentityID string
	CloudName              string
	CloudEnvFileName       string
	Objects                []types.KeyVaultObject
	Mode                   IdentityMode
}

// Cloud is the Azure environment of a cloud name.
type Cloud struct {
	Name                    string
	ActiveDirectoryEndpoint string
	KeyVaultDNSSuffix       string
}

// clouds are go-autorest's environments, looked up case-insensitively.
var clouds = map[string]Cloud{
	"azurepubliccloud":       {"AzurePublicCloud", "https://login.microsoftonline.com/", "vault.azure.net"},
	"azureusgovernmentcloud": {"AzureUSGovernmentCloud", "https://login.microsoftonline.us/", "vault.usgovcloudapi.net"},
	"azurechinacloud":        {"AzureChinaCloud", "https://login.chinacloudapi.cn/", "vault.azure.cn"},
	"azuregermancloud":       {"AzureGermanCloud", "https://login.microsoftonline.de/", "vault.microsoftazure.de"},
}

// CloudOf returns the environment of the parameters' cloudName.
func (p *Parameters) CloudOf() (Cloud, error) {
	if p.CloudName == "" {
		return clouds["azurepubliccloud"], nil
	}
	if c, ok := clouds[strings.ToLower(p.CloudName)]; ok {
		return c, nil
	}
	if strings.EqualFold(p.CloudName, "AzureStackCloud") {
		if p.CloudEnvFileName == "" {
			return Cloud{}, fmt.Errorf("cloudName %s is not valid, error: %w", p.CloudName, errors.New("disk: environment file path is not set (AZURE_ENVIRONMENT_FILEPATH)"))
		}
		return Cloud{Name: "AzureStackCloud", ActiveDirectoryEndpoint: "(from " + p.CloudEnvFileName + ")", KeyVaultDNSSuffix: "(from " + p.CloudEnvFileName + ")"}, nil
	}
	return Cloud{}, fmt.Errorf("cloudName %s is not valid, error: %w", p.CloudName, fmt.Errorf("autorest/azure: There is no cloud environment matching the name %q", strings.ToUpper(p.CloudName)))
}

// VaultURL is the URL the provider calls: always
// https://<keyvaultName>.<KeyVaultDNSSuffix>/, after checking the name as
// the provider does.
func (p *Parameters) VaultURL() (string, error) {
	c, err := p.CloudOf()
	if err != nil {
		return "", err
	}
	if n := len(p.KeyVaultName); n < 3 || n > 24 {
		return "", fmt.Errorf("failed to get vault: Invalid vault name: %q, must be between 3 and 24 chars", p.KeyVaultName)
	}
	for _, r := range p.KeyVaultName {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", fmt.Errorf("failed to get vault: Invalid vault name: %q, must match [-a-zA-Z0-9]{3,24}", p.KeyVaultName)
		}
	}
	return "https://" + p.KeyVaultName + "." + c.KeyVaultDNSSuffix + "/", nil
}

func parseBool(params map[string]string, name string) (bool, error) {
	s := strings.TrimSpace(params[name])
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("failed to parse %s flag, error: %w", name, err)
	}
	return v, nil
}

// ParseParameters reads a SecretProviderClass's parameters in the provider's
// order and returns its first error in the provider's words. hasNodePublishSecret
// says whether the volume names a nodePublishSecretRef (the service principal
// mode's credentials).
func ParseParameters(params map[string]string, hasNodePublishSecret bool) (*Parameters, error) {
	p := &Parameters{
		KeyVaultName:           strings.TrimSpace(params[ParamKeyVaultName]),
		CloudName:              strings.TrimSpace(params[ParamCloudName]),
		UserAssignedIdentityID: strings.TrimSpace(params[ParamUserAssignedIdentityID]),
		ClientID:               strings.TrimSpace(params[ParamClientID]),
		CloudEnvFileName:       strings.TrimSpace(params[ParamCloudEnvFileName]),
	}
	p.TenantID = strings.TrimSpace(params[ParamTenantID])
	if p.TenantID == "" {
		p.TenantID = strings.TrimSpace(params[ParamTenantIDDeprecated])
		p.TenantIDFromDeprecated = p.TenantID != ""
	}
	var err error
	if p.UsePodIdentity, err = parseBool(params, ParamUsePodIdentity); err != nil {
		return p, err
	}
	if p.UseVMManagedIdentity, err = parseBool(params, ParamUseVMManagedIdentity); err != nil {
		return p, err
	}
	if p.UseAzureTokenProxy, err = parseBool(params, ParamUseAzureTokenProxy); err != nil {
		return p, err
	}
	if p.KeyVaultName == "" {
		return p, errors.New("keyvaultName is not set")
	}
	if p.TenantID == "" {
		return p, errors.New("tenantId is not set")
	}
	if _, err := p.CloudOf(); err != nil {
		return p, err
	}
	var modes []string
	if p.UsePodIdentity {
		modes = append(modes, "usePodIdentity")
	}
	if p.UseVMManagedIdentity {
		modes = append(modes, "useVMManagedIdentity")
	}
	if p.UseAzureTokenProxy {
		modes = append(modes, "useAzureTokenProxy")
	}
	switch {
	case len(modes) > 1:
		return p, fmt.Errorf("failed to create auth config, error: only one identity mode can be enabled at a time: %s", strings.Join(modes, ", "))
	case p.UsePodIdentity:
		p.Mode = ModePodIdentity
	case p.UseVMManagedIdentity:
		p.Mode = ModeVMManagedID
	case p.UseAzureTokenProxy:
		if p.ClientID == "" {
			return p, errors.New("failed to create auth config, error: clientID is required when useAzureTokenProxy is true")
		}
		p.Mode = ModeAzureTokenProxy
	case p.ClientID != "":
		p.Mode = ModeWorkloadIdentity
	case hasNodePublishSecret:
		p.Mode = ModeServicePrincipal
	default:
		return p, errors.New("failed to create auth config, error: no identity mode is enabled")
	}
	objs, err := ParseObjects(params[ParamObjects])
	p.Objects = objs
	return p, err
}

// ParseObjects reads the `objects` parameter as the provider does: a YAML
// string holding `array:`, a list of YAML strings, each a KeyVaultObject;
// string fields are trimmed; each object is validated. An empty array is no
// error (nothing is mounted).
func ParseObjects(s string) ([]types.KeyVaultObject, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("objects is not set")
	}
	var a types.StringArray
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		return nil, fmt.Errorf("failed to yaml unmarshal objects, error: %w", err)
	}
	out := make([]types.KeyVaultObject, 0, len(a.Array))
	for i, o := range a.Array {
		var kv types.KeyVaultObject
		if err := yaml.Unmarshal([]byte(o), &kv); err != nil {
			return out, fmt.Errorf("unmarshal failed for keyVaultObjects at index %d, error: %w", i, err)
		}
		trimStrings(&kv)
		if err := Validate(kv); err != nil {
			return out, WrapObjectError(err, kv)
		}
		out = append(out, kv)
	}
	return out, nil
}

// trimStrings removes surrounding white space from every string field, as
// the provider's formatKeyVaultObject does.
func trimStrings(kv *types.KeyVaultObject) {
	v := reflect.ValueOf(kv).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.String {
			f.SetString(strings.TrimSpace(f.String()))
		}
	}
}

// WrapObjectError prefixes an object's error as the provider does.
func WrapObjectError(err error, kv types.KeyVaultObject) error {
	return fmt.Errorf("failed to get objectType:%s, objectName:%s, objectVersion:%s: %w", kv.ObjectType, kv.ObjectName, kv.ObjectVersion, err)
}

// Validate checks one object as the provider does before any call: format,
// encoding, file name, file permission.
func Validate(kv types.KeyVaultObject) error {
	if f := kv.ObjectFormat; f != "" {
		if !strings.EqualFold(f, "pem") && !strings.EqualFold(f, "pfx") {
			return fmt.Errorf("invalid objectFormat: %v, should be PEM or PFX", f)
		}
		if f == "pfx" && kv.ObjectType != "secret" {
			return errors.New("PFX format only supported for objectType: secret")
		}
	}
	if enc := kv.ObjectEncoding; enc != "" {
		if kv.ObjectType != "secret" {
			return errors.New("objectEncoding only supported for objectType: secret")
		}
		if !strings.EqualFold(enc, "hex") && !strings.EqualFold(enc, "base64") && !strings.EqualFold(enc, "utf-8") {
			return fmt.Errorf("invalid objectEncoding: %v, should be hex, base64 or utf-8", enc)
		}
	}
	if err := validateFileName(FileName(kv)); err != nil {
		return err
	}
	if _, err := FileMode(kv, 0o644); err != nil {
		return err
	}
	return nil
}

func validateFileName(name string) error {
	if name == "" {
		return errors.New("file name must not be empty")
	}
	if filepath.IsAbs(name) || strings.HasPrefix(name, "/") {
		return errors.New("file name must be a relative path")
	}
	for _, part := range strings.Split(filepath.ToSlash(name), "/") {
		if part == ".." {
			return errors.New("file name must not contain '..'")
		}
	}
	if strings.Contains(name, "..") {
		return errors.New("file name must not contain '..'")
	}
	return nil
}

// FileName is the file an object is written to: its alias, else its name.
func FileName(kv types.KeyVaultObject) string {
	if kv.ObjectAlias != "" {
		return kv.ObjectAlias
	}
	return kv.ObjectName
}

// FileMode is the object's file permission: filePermission parsed as octal,
// else def (the driver's default, 0644).
func FileMode(kv types.KeyVaultObject, def int32) (int32, error) {
	if kv.FilePermission == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(kv.FilePermission, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("file permission must be a valid octal number: %w", err)
	}
	return int32(v), nil
}

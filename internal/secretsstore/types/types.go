// Package types holds the Azure Key Vault provider's SecretProviderClass
// object types under the names the provider gives them, so that YAML decode
// errors name the same Go types ("types.StringArray",
// "types.KeyVaultObject") as the provider's own messages do.
package types

// StringArray is the `objects` parameter: a YAML document `array:` holding a
// list of YAML strings, each one KeyVaultObject.
type StringArray struct {
	Array []string `json:"array" yaml:"array"`
}

// KeyVaultObject is one object to mount, as the provider reads it.
type KeyVaultObject struct {
	// ObjectName is the name of the secret, key or certificate in the vault.
	ObjectName string `json:"objectName" yaml:"objectName"`
	// ObjectAlias is the file name to write (default: ObjectName).
	ObjectAlias string `json:"objectAlias" yaml:"objectAlias"`
	// ObjectVersion is the version to fetch; empty or "latest" for the latest.
	ObjectVersion string `json:"objectVersion" yaml:"objectVersion"`
	// ObjectVersionHistory > 1 writes that many versions as <alias>/<n>.
	ObjectVersionHistory int32 `json:"objectVersionHistory" yaml:"objectVersionHistory"`
	// ObjectType is secret, key or cert.
	ObjectType string `json:"objectType" yaml:"objectType"`
	// ObjectFormat is pem or pfx (pfx only for secrets).
	ObjectFormat string `json:"objectFormat" yaml:"objectFormat"`
	// ObjectEncoding is utf-8, base64 or hex (secrets only).
	ObjectEncoding string `json:"objectEncoding" yaml:"objectEncoding"`
	// FilePermission is an octal file mode string.
	FilePermission string `json:"filePermission" yaml:"filePermission"`
}

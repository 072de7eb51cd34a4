package workloadid

// Labels and annotations the webhook reads (azure-workload-identity
// pkg/webhook/consts.go).
const (
	LabelUse                      = "azure.workload.identity/use"
	AnnotationClientID            = "azure.workload.identity/client-id"
	AnnotationTenantID            = "azure.workload.identity/tenant-id"
	AnnotationTokenExpiration     = "azure.workload.identity/service-account-token-expiration"
	AnnotationSkipContainers      = "azure.workload.identity/skip-containers"
	AnnotationInjectProxySidecar  = "azure.workload.identity/inject-proxy-sidecar"
	AnnotationProxySidecarPort    = "azure.workload.identity/proxy-sidecar-port"
	AnnotationUsePrefix           = "azure.workload.identity/use-"
	EnvClientID                   = "AZURE_CLIENT_ID"
	EnvTenantID                   = "AZURE_TENANT_ID"
	EnvFederatedTokenFile         = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost              = "AZURE_AUTHORITY_HOST"
	DefaultTokenExpirationSeconds = 3600
	MinTokenExpirationSeconds     = 3600
	MaxTokenExpirationSeconds     = 86400
	DefaultProxySidecarPort       = 8000
	DefaultAuthorityHost          = "https://login.microsoftonline.com/"
)

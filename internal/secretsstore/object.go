package secretsstore

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/keyvault"
	"github.com/akssec/akssec/internal/secretsstore/types"
	"github.com/akssec/akssec/internal/source"
)

// objectStep decides one object: its type, Key Vault's authorization of the
// caller, and the object's existence in the snapshot's secret list.
func (r *Resolver) objectStep(b *volumeBuilder, pod *env.Pod, vol *corev1.Volume, p *Parameters, url string, vault *azure.Vault, o types.KeyVaultObject) {
	ns := pod.Namespace
	st := Step{Name: "object " + o.ObjectName}
	st.Detail = fmt.Sprintf("%s %s", o.ObjectType, o.ObjectName)
	if o.ObjectVersion != "" && o.ObjectVersion != "latest" {
		st.Detail += " version " + o.ObjectVersion
	}
	st.Detail += " → file " + FileName(o)
	if b.failed {
		b.add(st) // skipped: an earlier step failed
		return
	}
	var typ keyvault.ObjectType
	switch o.ObjectType {
	case "secret":
		typ = keyvault.TypeSecret
	case "key":
		typ = keyvault.TypeKey
	case "cert":
		typ = keyvault.TypeCert
	default:
		err := WrapObjectError(errors.New("Invalid vaultObjectTypes. Should be secret, key, or cert"), o)
		st.Error = err.Error()
		st.Fix = "objectType must be secret, key or cert"
		b.fail(st, mountEvent(vol.Name, ns, pod.Name, st.Error))
		return
	}
	if vault == nil || b.v.Caller.ObjectID == "" {
		st.Status = StatusUnknown
		if vault == nil {
			st.Detail += "; authorization not checked (vault not in the snapshot)"
		} else {
			st.Detail += "; authorization not checked (the caller's principal is not in the snapshot)"
		}
		b.add(st)
		return
	}
	st.Evidence = []source.Location{vault.Src}
	perms := []string{"get"}
	if o.ObjectVersionHistory > 1 {
		perms = append([]string{"list"}, perms...)
	}
	coll := map[keyvault.ObjectType]string{keyvault.TypeSecret: "secrets", keyvault.TypeKey: "keys", keyvault.TypeCert: "certificates"}[typ]
	reqURL := url + coll + "/" + o.ObjectName + "/" + versionOf(o)
	for _, perm := range perms {
		d := r.kv.AuthorizeObject(vault, b.v.Caller, typ, perm, o.ObjectName)
		st.Evidence = append(st.Evidence, d.Evidence[1:]...)
		if d.Allowed {
			st.Detail += "; " + d.Reason
			continue
		}
		method, u := "GET", reqURL
		if perm == "list" {
			u = url + coll + "/" + o.ObjectName + "/versions"
		}
		err := WrapObjectError(errors.New(vaultError(method, u, d.Status, d.Body())), o)
		st.Error = err.Error()
		st.Fix = authFix(vault, b.v, typ, perm, o.ObjectName)
		b.fail(st, mountEvent(vol.Name, ns, pod.Name, st.Error))
		return
	}
	// existence
	switch typ {
	case keyvault.TypeKey:
		st.Status = StatusUnknown
		st.Detail += "; existence not checked (the snapshot lists secrets only)"
		b.add(st)
		return
	}
	listed, item := r.SecretListed(vault.Name, o.ObjectName)
	switch {
	case !listed:
		st.Status = StatusUnknown
		st.Detail += fmt.Sprintf("; existence not checked (no secret list for %s in the snapshot)", vault.Name)
		b.add(st)
	case item == nil && typ == keyvault.TypeCert:
		st.Status = StatusUnknown
		st.Detail += "; no certificate-backed secret of that name in the secret list"
		b.add(st)
	case item == nil:
		body := keyvault.SecretNotFound(o.ObjectName)
		st.Error = WrapObjectError(errors.New(vaultError("GET", reqURL, 404, body)), o).Error()
		st.Fix = fmt.Sprintf("create the secret (az keyvault secret set --vault-name %s --name %s --file ...) or correct objectName (names are case-insensitive; the vault holds %s)", vault.Name, o.ObjectName, r.secretNames(vault.Name))
		b.fail(st, mountEvent(vol.Name, ns, pod.Name, st.Error))
	case item.Attributes.Enabled != nil && !*item.Attributes.Enabled:
		body := keyvault.ErrorBody{Error: keyvault.ErrorDetail{Code: "Forbidden", Message: "Operation get is not allowed on a disabled secret.", InnerError: &keyvault.InnerError{Code: "SecretDisabled"}}}
		st.Error = WrapObjectError(errors.New(vaultError("GET", reqURL, 403, body)), o).Error()
		st.Fix = fmt.Sprintf("az keyvault secret set-attributes --vault-name %s --name %s --enabled true", vault.Name, o.ObjectName)
		st.Evidence = append(st.Evidence, item.Src)
		b.fail(st, mountEvent(vol.Name, ns, pod.Name, st.Error))
	default:
		st.Status = StatusOK
		st.Evidence = append(st.Evidence, item.Src)
		b.add(st)
	}
}

func versionOf(o types.KeyVaultObject) string {
	if o.ObjectVersion == "latest" {
		return ""
	}
	return o.ObjectVersion
}

func (r *Resolver) secretNames(vault string) string {
	m := r.secrets[strings.ToLower(vault)]
	var names []string
	for _, it := range m {
		names = append(names, it.SecretName())
	}
	if len(names) == 0 {
		return "no secrets"
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return strings.Join(names, ", ")
}

func authFix(vault *azure.Vault, v Volume, typ keyvault.ObjectType, perm, name string) string {
	who := v.Caller.ObjectID
	if v.Identity != nil {
		who = v.Identity.PrincipalID
	}
	if vault.RBAC() {
		role := "Key Vault Secrets User"
		coll := "secrets"
		switch typ {
		case keyvault.TypeKey:
			role, coll = "Key Vault Crypto User", "keys"
		case keyvault.TypeCert:
			role, coll = "Key Vault Certificate User", "certificates"
		}
		scope := vault.ID + "/" + coll + "/" + name
		if perm == "list" {
			scope = vault.ID
		}
		return fmt.Sprintf("az role assignment create --role %q --assignee-object-id %s --assignee-principal-type ServicePrincipal --scope %s  (role %s)", role, who, scope, roleGUID(role))
	}
	flag := map[keyvault.ObjectType]string{keyvault.TypeSecret: "--secret-permissions", keyvault.TypeKey: "--key-permissions", keyvault.TypeCert: "--certificate-permissions"}[typ]
	return fmt.Sprintf("az keyvault set-policy --name %s --object-id %s %s %s  (or move the vault to Azure RBAC: az keyvault update --name %s --enable-rbac-authorization true, then grant Key Vault Secrets User)", vault.Name, who, flag, perm, vault.Name)
}

func roleGUID(name string) string {
	switch name {
	case "Key Vault Secrets User":
		return azrole.KeyVaultSecretsUser
	case "Key Vault Crypto User":
		return azrole.KeyVaultCryptoUser
	case "Key Vault Certificate User":
		return azrole.KeyVaultCertificateUser
	}
	return ""
}

package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/source"
)

// An azure/ file is the unchanged output of one az command. Which command
// produced a file is said by azure/index.yaml:
//
//	apiVersion: akssec.io/v1alpha1
//	kind: AzureIndex
//	files:
//	  aks.json: az aks show --resource-group rg-bank --name aks-bank
//	  members/0b1c....json: az ad group member list --group 0b1c...
//	  federated-credentials/myapp-identity.json: az identity federated-credential list --identity-name myapp-identity --resource-group rg-bank
//	  keyvaults/myKV.secrets.json: az keyvault secret list --vault-name myKV
//
// Without an entry, the conventional name decides (see conventional), and for
// any other name the content does (see sniff).

// Command kinds, named by the az command words.
const (
	cmdAKSShow      = "aks show"
	cmdUserList     = "ad user list"
	cmdGroupList    = "ad group list"
	cmdMemberList   = "ad group member list"
	cmdSPList       = "ad sp list"
	cmdIdentityList = "identity list"
	cmdFICList      = "identity federated-credential list"
	cmdVaultShow    = "keyvault show"
	cmdSecretList   = "keyvault secret list"
	cmdRoleList     = "role assignment list"
	cmdPolicyList   = "policy assignment list"
)

var commandKinds = []string{cmdAKSShow, cmdUserList, cmdGroupList, cmdMemberList, cmdSPList, cmdIdentityList,
	cmdFICList, cmdVaultShow, cmdSecretList, cmdRoleList, cmdPolicyList}

// azCommand is a parsed az command line: its kind and the argument naming
// the object it is about (group ID, identity or vault name).
type azCommand struct {
	kind string
	arg  string
}

// AzureIndex is the format of azure/index.yaml.
type AzureIndex struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Files      map[string]string `json:"files"`
}

func parseIndex(data []byte) (map[string]azCommand, error) {
	var idx AzureIndex
	if err := yaml.UnmarshalStrict(data, &idx); err != nil {
		return nil, fmt.Errorf("expected apiVersion akssec.io/v1alpha1, kind AzureIndex and files (a map of file to az command): %s", strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: "))
	}
	if idx.Kind != "AzureIndex" {
		return nil, fmt.Errorf("kind is %q, expected AzureIndex", idx.Kind)
	}
	out := make(map[string]azCommand, len(idx.Files))
	var errs []string
	files := make([]string, 0, len(idx.Files))
	for f := range idx.Files {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		c, err := parseCommand(idx.Files[f])
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		out[path.Clean(f)] = c
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// parseCommand recognizes which az command a line is. Quoting follows the
// shell's simple rules (single and double quotes).
func parseCommand(line string) (azCommand, error) {
	words := shellWords(line)
	if len(words) == 0 || words[0] != "az" {
		return azCommand{}, fmt.Errorf("%q is not an az command", line)
	}
	var pos []string
	flags := map[string]string{}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") {
			name, val, ok := strings.Cut(w, "=")
			if !ok && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
				val = words[i+1]
				i++
			}
			flags[name] = val
			continue
		}
		pos = append(pos, w)
	}
	verb := strings.Join(pos, " ")
	for _, k := range commandKinds {
		if verb == k {
			c := azCommand{kind: k}
			switch k {
			case cmdMemberList:
				c.arg = first(flags["--group"], flags["-g"])
			case cmdFICList:
				c.arg = first(flags["--identity-name"])
			case cmdVaultShow:
				c.arg = first(flags["--name"], flags["-n"])
			case cmdSecretList:
				c.arg = first(flags["--vault-name"])
			}
			if c.arg == "" && (k == cmdMemberList || k == cmdFICList || k == cmdSecretList) {
				return azCommand{}, fmt.Errorf("%q names no %s", line, map[string]string{cmdMemberList: "--group", cmdFICList: "--identity-name", cmdSecretList: "--vault-name"}[k])
			}
			return c, nil
		}
	}
	return azCommand{}, fmt.Errorf("%q is not one of the az commands akssec reads (az %s)", line, strings.Join(commandKinds, ", az "))
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// conventional maps a path relative to azure/ to the command its
// conventional name stands for (DESIGN.md "The snapshot").
func conventional(rel string) (azCommand, bool) {
	base := path.Base(rel)
	dir := path.Dir(rel)
	switch {
	case rel == "aks.json":
		return azCommand{kind: cmdAKSShow}, true
	case rel == "users.json":
		return azCommand{kind: cmdUserList}, true
	case rel == "groups.json":
		return azCommand{kind: cmdGroupList}, true
	case rel == "service-principals.json":
		return azCommand{kind: cmdSPList}, true
	case rel == "identities.json":
		return azCommand{kind: cmdIdentityList}, true
	case rel == "role-assignments.json":
		return azCommand{kind: cmdRoleList}, true
	case rel == "policy-assignments.json":
		return azCommand{kind: cmdPolicyList}, true
	case dir == "members" && strings.HasSuffix(base, ".json"):
		return azCommand{kind: cmdMemberList, arg: strings.TrimSuffix(base, ".json")}, true
	case dir == "federated-credentials" && strings.HasSuffix(base, ".json"):
		return azCommand{kind: cmdFICList, arg: strings.TrimSuffix(base, ".json")}, true
	case dir == "keyvaults" && strings.HasSuffix(base, ".secrets.json"):
		return azCommand{kind: cmdSecretList, arg: strings.TrimSuffix(base, ".secrets.json")}, true
	case dir == "keyvaults" && strings.HasSuffix(base, ".json"):
		return azCommand{kind: cmdVaultShow, arg: strings.TrimSuffix(base, ".json")}, true
	}
	return azCommand{}, false
}

// sniff recognizes az output by its content, for files with other names.
func sniff(data []byte) (azCommand, bool) {
	var probe any
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&probe); err != nil {
		return azCommand{}, false
	}
	obj, isObj := probe.(map[string]any)
	if arr, ok := probe.([]any); ok {
		if len(arr) == 0 {
			return azCommand{}, false
		}
		obj, isObj = arr[0].(map[string]any)
		if !isObj {
			return azCommand{}, false
		}
		typ, _ := obj["type"].(string)
		has := func(k string) bool { _, ok := obj[k]; return ok }
		switch {
		case strings.EqualFold(typ, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"):
			return azCommand{kind: cmdFICList}, true
		case strings.EqualFold(typ, "Microsoft.ManagedIdentity/userAssignedIdentities"):
			return azCommand{kind: cmdIdentityList}, true
		case has("roleDefinitionId") && has("principalId"):
			return azCommand{kind: cmdRoleList}, true
		case has("policyDefinitionId"):
			return azCommand{kind: cmdPolicyList}, true
		case has("servicePrincipalType") || has("appOwnerOrganizationId"):
			return azCommand{kind: cmdSPList}, true
		case has("securityEnabled"):
			return azCommand{kind: cmdGroupList}, true
		case has("@odata.type"):
			return azCommand{kind: cmdMemberList}, true
		case has("userPrincipalName"):
			return azCommand{kind: cmdUserList}, true
		}
		return azCommand{}, false
	}
	if !isObj {
		return azCommand{}, false
	}
	typ, _ := obj["type"].(string)
	switch {
	case strings.EqualFold(typ, "Microsoft.ContainerService/ManagedClusters"):
		return azCommand{kind: cmdAKSShow}, true
	case strings.EqualFold(typ, "Microsoft.KeyVault/vaults"):
		return azCommand{kind: cmdVaultShow}, true
	}
	return azCommand{}, false
}

// loadAzureFile decodes one az output file into d. Each array element keeps
// its own line.
func loadAzureFile(d *azure.Data, rel string, c azCommand, data []byte, lim Limits) error {
	if !isJSON(data) {
		return fmt.Errorf("expected the JSON that az prints (--output json) for az %s", c.kind)
	}
	docs, err := splitJSON(rel, data, lim)
	if err != nil {
		return err
	}
	array := bytes.TrimLeft(data, " \t\r\n\ufeff")[0] == '['
	single := func() error {
		if array {
			return fmt.Errorf("expected one JSON object (az %s prints an object), found an array", c.kind)
		}
		return nil
	}
	list := func() error {
		if !array {
			return fmt.Errorf("expected a JSON array (az %s prints a list), found an object", c.kind)
		}
		return nil
	}
	switch c.kind {
	case cmdAKSShow:
		if err := single(); err != nil {
			return err
		}
		if d.Cluster != nil {
			return fmt.Errorf("a second cluster: %s already holds az aks show output; a snapshot describes one cluster", d.Cluster.Src.File)
		}
		v, err := decodeAz[azure.ManagedCluster](docs[0])
		if err != nil {
			return err
		}
		d.Cluster = v
	case cmdVaultShow:
		if err := single(); err != nil {
			return err
		}
		v, err := decodeAz[azure.Vault](docs[0])
		if err != nil {
			return err
		}
		if v.Name == "" {
			return fmt.Errorf("line %d: vault has no name", docs[0].Loc.Line)
		}
		d.Vaults = append(d.Vaults, v)
	default:
		if err := list(); err != nil {
			return err
		}
		return decodeList(d, c, docs)
	}
	return nil
}

func decodeList(d *azure.Data, c azCommand, docs []rawDoc) error {
	var errs []string
	add := func(err error) { errs = append(errs, err.Error()) }
	switch c.kind {
	case cmdUserList:
		d.Users = appendAll(d.Users, docs, add, func(u *azure.User) error { return needID(u.ID) })
	case cmdGroupList:
		d.Groups = appendAll(d.Groups, docs, add, func(g *azure.Group) error { return needID(g.ID) })
	case cmdSPList:
		d.ServicePrincipals = appendAll(d.ServicePrincipals, docs, add, func(s *azure.ServicePrincipal) error { return needID(s.ID) })
	case cmdIdentityList:
		d.Identities = appendAll(d.Identities, docs, add, func(i *azure.Identity) error {
			if i.ClientID == "" || i.PrincipalID == "" {
				return fmt.Errorf("identity %q: expected clientId and principalId", i.Name)
			}
			return nil
		})
	case cmdFICList:
		d.FederatedCredentials = appendAll(d.FederatedCredentials, docs, add, func(f *azure.FederatedCredential) error {
			f.Identity = c.arg
			return nil
		})
	case cmdSecretList:
		d.Secrets = appendAll(d.Secrets, docs, add, func(s *azure.SecretItem) error {
			s.Vault = c.arg
			if s.SecretName() == "" {
				return fmt.Errorf("secret item has neither name nor id")
			}
			return nil
		})
	case cmdRoleList:
		d.RoleAssignments = appendAll(d.RoleAssignments, docs, add, func(r *azure.RoleAssignment) error {
			if r.PrincipalID == "" || r.Scope == "" || r.RoleDefinitionID == "" {
				return fmt.Errorf("role assignment %q: expected principalId, roleDefinitionId and scope", r.Name)
			}
			return nil
		})
	case cmdPolicyList:
		d.PolicyAssignments = appendAll(d.PolicyAssignments, docs, add, func(p *azure.PolicyAssignment) error {
			if p.PolicyDefinitionID == "" {
				return fmt.Errorf("policy assignment %q: expected policyDefinitionId", p.Name)
			}
			return nil
		})
	case cmdMemberList:
		gm := &azure.GroupMembers{GroupID: c.arg}
		if len(docs) > 0 {
			gm.Src = source.Location{File: docs[0].Loc.File, Line: 1}
		}
		gm.Members = appendAll(gm.Members, docs, add, func(m *azure.Member) error { return needID(m.ID) })
		d.Members = append(d.Members, gm)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n  "))
	}
	return nil
}

func needID(id string) error {
	if id == "" {
		return fmt.Errorf("expected an id (object ID)")
	}
	return nil
}

// located is implemented by every azure type through its Src field.
func setSrc(v any, loc source.Location) {
	switch x := v.(type) {
	case *azure.User:
		x.Src = loc
	case *azure.Group:
		x.Src = loc
	case *azure.Member:
		x.Src = loc
	case *azure.ServicePrincipal:
		x.Src = loc
	case *azure.Identity:
		x.Src = loc
	case *azure.FederatedCredential:
		x.Src = loc
	case *azure.SecretItem:
		x.Src = loc
	case *azure.RoleAssignment:
		x.Src = loc
	case *azure.PolicyAssignment:
		x.Src = loc
	case *azure.ManagedCluster:
		x.Src = loc
	case *azure.Vault:
		x.Src = loc
	}
}

func decodeAz[T any](doc rawDoc) (*T, error) {
	v := new(T)
	if err := kjson.UnmarshalCaseSensitivePreserveInts(doc.JSON, v); err != nil {
		return nil, fmt.Errorf("line %d: %s", doc.Loc.Line, fieldError(err))
	}
	setSrc(v, doc.Loc)
	return v, nil
}

func appendAll[T any](dst []*T, docs []rawDoc, fail func(error), check func(*T) error) []*T {
	for _, doc := range docs {
		v, err := decodeAz[T](doc)
		if err == nil {
			err = check(v)
			if err != nil {
				err = fmt.Errorf("line %d: %v", doc.Loc.Line, err)
			}
		}
		if err != nil {
			fail(err)
			continue
		}
		dst = append(dst, v)
	}
	return dst
}

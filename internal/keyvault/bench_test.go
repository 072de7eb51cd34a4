package keyvault

import "testing"

func BenchmarkAuthorizeRBAC(b *testing.B) {
	e := testEnv()
	a := New(e)
	v := rbacVault()
	c := Caller{ObjectID: "oid-member", TenantID: tenant}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a.Authorize(v, c, SecretGet, "db-password")
	}
}

func BenchmarkAuthorizeAccessPolicy(b *testing.B) {
	e := testEnv()
	a := New(e)
	v := policyVault()
	c := Caller{ObjectID: "oid-member", TenantID: tenant}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a.Authorize(v, c, SecretGet, "x")
	}
}

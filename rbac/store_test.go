package rbac_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authkit-go/authkit/rbac"
)

type fakeStore struct {
	roles map[[2]string][]string
	err   error
}

func (f fakeStore) RolesOf(_ context.Context, subject, tenant string) ([]string, error) {
	return f.roles[[2]string{subject, tenant}], f.err
}

func TestLoadSubject(t *testing.T) {
	ctx := context.Background()
	st := fakeStore{roles: map[[2]string][]string{{"u", ""}: {"g"}, {"u", "t1"}: {"a"}, {"u", "t2"}: {"b"}}}
	s, err := rbac.LoadSubject(ctx, st, "u", "t1", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "u" || len(s.Roles) != 1 || s.Roles[0] != "g" || len(s.TenantRoles) != 1 || s.TenantRoles["t1"][0] != "a" {
		t.Errorf("subject = %+v", s)
	}
	// Fail closed: a store error yields the zero subject and an error.
	boom := errors.New("db down")
	s, err = rbac.LoadSubject(ctx, fakeStore{roles: st.roles, err: boom}, "u", "t1")
	if !errors.Is(err, boom) || s.ID != "" || s.Roles != nil || s.TenantRoles != nil {
		t.Errorf("error path = %+v, %v", s, err)
	}
	if _, err := rbac.LoadSubject(ctx, nil, "u"); err == nil {
		t.Error("nil store accepted")
	}
}

package gcpfunctions

import (
	"context"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/genproto/googleapis/type/expr"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// accountDescription marks a service account as a handler's: service accounts take no labels.
func accountDescription(name string) string { return "threefactor handler " + name }

type accountSeen struct {
	email, handler string
}

// createAccount creates the handler's service account and returns its email.
func (d *Driver) createAccount(ctx context.Context, name string) (string, error) {
	id := d.names(name).Account
	email := d.accountEmail(id)
	err := d.create(func(retry gax.CallOption) error {
		_, err := d.iam.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{
			Name: "projects/" + d.project, AccountId: id,
			ServiceAccount: &adminpb.ServiceAccount{DisplayName: "threefactor " + name, Description: accountDescription(name)},
		}, retry)
		return err
	}, func() (bool, error) {
		a, err := d.readAccount(ctx, email)
		return a != nil && a.handler == name, err
	})
	if err != nil {
		return "", fail(driver.Identity, "creating", id, err)
	}
	return email, nil
}

// readAccount returns nil when the account is gone.
func (d *Driver) readAccount(ctx context.Context, email string) (*accountSeen, error) {
	sa, err := d.iam.GetServiceAccount(ctx, &adminpb.GetServiceAccountRequest{Name: d.accountName(email)}, d.retry)
	if found, err := codesOf.Exists(err); !found {
		return nil, fail(driver.Identity, "reading", email, err)
	}
	return &accountSeen{email: sa.GetEmail(), handler: strings.TrimPrefix(sa.GetDescription(), accountDescription(""))}, nil
}

func (d *Driver) deleteAccount(ctx context.Context, email string) error {
	err := d.iam.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: d.accountName(email)}, d.retry)
	return fail(driver.Identity, "deleting", email, codesOf.IgnoreNotFound(err))
}

// policyClient reads and writes one kind of resource's IAM policy.
type policyClient interface {
	GetIamPolicy(context.Context, *iampb.GetIamPolicyRequest, ...gax.CallOption) (*iampb.Policy, error)
	SetIamPolicy(context.Context, *iampb.SetIamPolicyRequest, ...gax.CallOption) (*iampb.Policy, error)
}

// binding is one grant the provider makes: a role for one member, with an optional condition.
type binding struct {
	role, member string
	condition    *expr.Expr
}

// in reports whether policy p holds b.
func (b binding) in(p *iampb.Policy) bool {
	return slices.ContainsFunc(p.GetBindings(), func(x *iampb.Binding) bool {
		return x.GetRole() == b.role && sameCondition(x.GetCondition(), b.condition) && slices.Contains(x.GetMembers(), b.member)
	})
}

func sameCondition(a, b *expr.Expr) bool {
	return a.GetExpression() == b.GetExpression() && a.GetTitle() == b.GetTitle()
}

// getPolicy reads resource's policy at version 3, which conditions need.
func getPolicy(ctx context.Context, c policyClient, resource string, retry gax.CallOption) (*iampb.Policy, error) {
	return c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: resource, Options: &iampb.GetPolicyOptions{RequestedPolicyVersion: 3}}, retry)
}

// grant adds b to resource's policy, or (with revoke) removes it. A policy is shared by whatever
// else grants on the resource, so it is read, changed in the handler's own binding only, and
// written back with its etag; a write that lost a race (ABORTED) is done again from a new read.
func (d *Driver) grant(ctx context.Context, c policyClient, resource string, b binding, revoke bool) error {
	return plumbing.RetryWhile(ctx, time.Minute, isAborted, func() error {
		p, err := getPolicy(ctx, c, resource, d.retry)
		if err != nil {
			return err
		}
		if b.in(p) != revoke {
			return nil // already as wanted
		}
		p.Bindings = removeMember(p.Bindings, b)
		if !revoke {
			p.Bindings = append(p.Bindings, &iampb.Binding{Role: b.role, Members: []string{b.member}, Condition: b.condition})
		}
		p.Version = 3
		_, err = c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: resource, Policy: p}, d.retry)
		return err
	})
}

// removeMember drops b's member from its binding, and the binding if it is left empty. A service
// account deleted out of band shows as "deleted:<member>?uid=<id>": that former self goes too.
func removeMember(bs []*iampb.Binding, b binding) []*iampb.Binding {
	var out []*iampb.Binding
	for _, x := range bs {
		if x.GetRole() == b.role && sameCondition(x.GetCondition(), b.condition) {
			x.Members = slices.DeleteFunc(x.Members, func(m string) bool { return m == b.member || strings.HasPrefix(m, "deleted:"+b.member+"?") })
			if len(x.Members) == 0 {
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// dedupGrant is the identity's access to its own dedup database: Firestore grants per database at
// the narrowest, through a condition on the project's roles/datastore.user.
func dedupGrant(email, database string) binding {
	return binding{role: "roles/datastore.user", member: "serviceAccount:" + email, condition: &expr.Expr{
		Title:       "threefactor " + spec.HandlerOf(lastPart(database)) + " dedup",
		Description: "The handler's access to its own dedup database only.",
		Expression:  `resource.name == "` + database + `"`,
	}}
}

// grantID is how state records the dedup grant: the account and the database, which make the binding.
func grantID(email, database string) string { return email + " " + database }

// grantOf is the binding a grant id records.
func grantOf(id string) binding {
	email, database, _ := strings.Cut(id, " ")
	return dedupGrant(email, database)
}

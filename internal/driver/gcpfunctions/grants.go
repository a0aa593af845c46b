package gcpfunctions

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/genproto/googleapis/type/expr"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// The Firestore grants of a handler live in the project's IAM policy, each a binding of the
// handler's account with a condition on one database (Firestore grants no narrower): its dedup
// database, and the database of each table function.tables grants. They are written together.

// tableGrantTitle starts the condition title of a table grant; the grant's name follows. The
// member (the handler's own account) tells whose it is, so the title stays within IAM's 100
// characters.
const tableGrantTitle = "threefactor table "

// tableRoles are the roles of each access level: roles/datastore.viewer reads documents (gets,
// queries, read-only transactions); roles/datastore.user also writes them, in transactions too
// (what the runtime library's state writes and guards use).
var tableRoles = map[spec.Access]string{spec.Read: "roles/datastore.viewer", spec.ReadWrite: "roles/datastore.user"}

// tableGrant is the binding of the grant named name for the account email.
func tableGrant(email, name string, g spec.TableGrant) binding {
	return binding{role: tableRoles[g.Access], member: "serviceAccount:" + email, condition: &expr.Expr{
		Title:       tableGrantTitle + name,
		Description: "The handler's " + string(g.Access) + " access to this table's database only.",
		Expression:  `resource.name == "` + g.TableID + `"`,
	}}
}

// firestoreGrants are every binding of the account's Firestore grants, the dedup grant first.
func firestoreGrants(email, database string, tables map[string]spec.TableGrant) []binding {
	bs := []binding{dedupGrant(email, database)}
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		bs = append(bs, tableGrant(email, name, tables[name]))
	}
	return bs
}

// isFirestoreGrant reports whether x is one of the bindings firestoreGrants makes, of anyone.
func isFirestoreGrant(x *iampb.Binding) bool {
	t := x.GetCondition().GetTitle()
	return strings.HasPrefix(t, tableGrantTitle) || (strings.HasPrefix(t, "threefactor ") && strings.HasSuffix(t, " dedup"))
}

// tablesHeld are the table grants policy p holds for the account email, by name; a role that is
// no access level's shows as no access.
func tablesHeld(p *iampb.Policy, email string) map[string]spec.TableGrant {
	var out map[string]spec.TableGrant
	for _, x := range p.GetBindings() {
		name, ok := strings.CutPrefix(x.GetCondition().GetTitle(), tableGrantTitle)
		if !ok || !slices.Contains(x.GetMembers(), "serviceAccount:"+email) {
			continue
		}
		id := strings.TrimSuffix(strings.TrimPrefix(x.GetCondition().GetExpression(), `resource.name == "`), `"`)
		var access spec.Access
		for a, role := range tableRoles {
			if role == x.GetRole() {
				access = a
			}
		}
		if out == nil {
			out = map[string]spec.TableGrant{}
		}
		out[name] = spec.TableGrant{TableID: id, Access: access}
	}
	return out
}

// holds reports whether p holds exactly want among the account's Firestore grants.
func holds(p *iampb.Policy, member string, want []binding) bool {
	n := 0
	for _, x := range p.GetBindings() {
		if isFirestoreGrant(x) && slices.Contains(x.GetMembers(), member) {
			n++
		}
	}
	return n == len(want) && !slices.ContainsFunc(want, func(b binding) bool { return !b.in(p) })
}

// setFirestoreGrants makes member's Firestore grants on the project exactly want (none revokes
// them all), in one policy write, again from a new read when another writer won the race.
func (d *Driver) setFirestoreGrants(ctx context.Context, member string, want []binding) error {
	resource := "projects/" + d.project
	return plumbing.RetryWhile(ctx, time.Minute, isAborted, func() error {
		p, err := getPolicy(ctx, d.projects, resource, d.retry)
		if err != nil || holds(p, member, want) {
			return err
		}
		var kept []*iampb.Binding
		for _, x := range p.GetBindings() {
			if isFirestoreGrant(x) {
				x.Members = slices.DeleteFunc(x.Members, func(m string) bool { return m == member || strings.HasPrefix(m, "deleted:"+member+"?") })
				if len(x.Members) == 0 {
					continue
				}
			}
			kept = append(kept, x)
		}
		for _, b := range want {
			kept = append(kept, &iampb.Binding{Role: b.role, Members: []string{b.member}, Condition: b.condition})
		}
		p.Bindings, p.Version = kept, 3
		_, err = d.projects.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: resource, Policy: p}, d.retry)
		return err
	})
}

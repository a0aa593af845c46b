package gcpfake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"slices"
	"sort"
	"strings"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/genproto/googleapis/type/expr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// policyEntry is a resource's stored IAM policy and its current etag.
type policyEntry struct {
	policy *iampb.Policy
	etag   []byte
}

// emptyEtag is the etag Google answers for a policy never set ("ACAB" in base64).
var emptyEtag = []byte{0x00, 0x20, 0x01}

func newEtag(n int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(n)|1<<62)
	return b
}

var (
	rolePattern   = regexp.MustCompile(`^(roles/[a-zA-Z0-9_.]+|(projects|organizations)/[a-z0-9-]+/roles/[a-zA-Z0-9_.]+)$`)
	withCondition = regexp.MustCompile(`_withcond_[0-9a-f]+$`)
)

// getPolicy answers GetIamPolicy for a canonical resource: version 1 unless the caller asks for 3;
// asked for 1 while the policy holds conditions, each conditional binding's role gets Google's
// "_withcond_<hash>" suffix and loses its condition, as the real API answers.
func (s *Server) getPolicy(resource string, opts *iampb.GetPolicyOptions) (*iampb.Policy, error) {
	v := opts.GetRequestedPolicyVersion()
	if v != 0 && v != 1 && v != 3 {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid requested policy version %d: valid versions are 0, 1 and 3.", v)
	}
	e, ok := s.st.policies[resource]
	if !ok {
		return &iampb.Policy{Version: 1, Etag: slices.Clone(emptyEtag)}, nil
	}
	p := clone(e.policy)
	p.Etag = slices.Clone(e.etag)
	if p.Version == 3 && v < 3 {
		p.Version = 1
		for _, b := range p.Bindings {
			if b.Condition != nil {
				b.Role += "_withcond_" + conditionHash(b.Condition)
				b.Condition = nil
			}
		}
	}
	return p, nil
}

func conditionHash(c *expr.Expr) string {
	h := sha256.Sum256([]byte(c.GetTitle() + "\x00" + c.GetDescription() + "\x00" + c.GetExpression()))
	return hex.EncodeToString(h[:10])
}

// setPolicy answers SetIamPolicy for a canonical resource: a stale etag is ABORTED; conditions
// need version 3; roles, members and conditions are checked as Google checks them.
func (s *Server) setPolicy(resource string, p *iampb.Policy) (*iampb.Policy, error) {
	if p == nil {
		return nil, status.Error(codes.InvalidArgument, "policy is required")
	}
	cur := emptyEtag
	if e, ok := s.st.policies[resource]; ok {
		cur = e.etag
	}
	if len(p.GetEtag()) > 0 && !bytes.Equal(p.GetEtag(), cur) {
		return nil, status.Error(codes.Aborted, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.")
	}
	if err := s.checkPolicy(p); err != nil {
		return nil, err
	}
	np := clone(p)
	np.Etag = nil
	normalize(np)
	e := &policyEntry{policy: np, etag: newEtag(s.next())}
	if len(np.Bindings) == 0 && len(np.AuditConfigs) == 0 {
		e.policy.Version = 1
	}
	s.st.policies[resource] = e
	return s.getPolicy(resource, &iampb.GetPolicyOptions{RequestedPolicyVersion: 3})
}

func (s *Server) checkPolicy(p *iampb.Policy) error {
	v := p.GetVersion()
	if v != 0 && v != 1 && v != 3 {
		return status.Errorf(codes.InvalidArgument, "Invalid policy version %d: valid versions are 0, 1 and 3.", v)
	}
	for _, b := range p.GetBindings() {
		if withCondition.MatchString(b.GetRole()) {
			return status.Errorf(codes.InvalidArgument, "Role %s is a conditional role binding read with policy version 1; read the policy with version 3 and set it back with version 3.", b.GetRole())
		}
		if !rolePattern.MatchString(b.GetRole()) {
			return status.Errorf(codes.InvalidArgument, "Role %s is not supported for this resource.", b.GetRole())
		}
		if c := b.GetCondition(); c != nil {
			if v < 3 {
				return status.Errorf(codes.InvalidArgument, "Policy version %d cannot contain conditions (binding of %s): set version 3.", v, b.GetRole())
			}
			if c.GetTitle() == "" || c.GetExpression() == "" {
				return status.Errorf(codes.InvalidArgument, "Condition of the binding of %s needs a title and an expression.", b.GetRole())
			}
			if len(c.GetTitle()) > 100 {
				return status.Errorf(codes.InvalidArgument, "Condition title %q is longer than 100 characters.", c.GetTitle())
			}
		}
		for _, m := range b.GetMembers() {
			if err := s.checkMember(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkMember accepts Google's principal forms; a service account of this project must exist, as
// the real API refuses to bind an unknown one (its IAM also lags behind a fresh account).
func (s *Server) checkMember(m string) error {
	switch m {
	case "allUsers", "allAuthenticatedUsers":
		return nil
	}
	kind, id, ok := strings.Cut(m, ":")
	switch {
	case !ok || id == "":
	case kind == "user" || kind == "group" || kind == "serviceAccount":
		if !strings.Contains(id, "@") {
			break
		}
		if kind == "serviceAccount" && strings.HasSuffix(id, "@"+s.opts.Project+".iam.gserviceaccount.com") {
			if _, exists := s.st.accounts[id]; !exists {
				return status.Errorf(codes.InvalidArgument, "Service account %s does not exist.", id)
			}
		}
		return nil
	case kind == "domain" || kind == "deleted" || kind == "principal" || kind == "principalSet":
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "Invalid member %q: want user:, serviceAccount:, group:, domain:, principal:, principalSet:, allUsers or allAuthenticatedUsers.", m)
}

// normalize merges bindings of the same role and condition, drops empty ones, sorts members and
// bindings, and sets the version the content needs.
func normalize(p *iampb.Policy) {
	var out []*iampb.Binding
	for _, b := range p.Bindings {
		i := slices.IndexFunc(out, func(o *iampb.Binding) bool {
			return o.Role == b.Role && sameCondition(o.Condition, b.Condition)
		})
		if i < 0 {
			out = append(out, &iampb.Binding{Role: b.Role, Condition: b.Condition})
			i = len(out) - 1
		}
		out[i].Members = append(out[i].Members, b.Members...)
	}
	p.Bindings = nil
	p.Version = 1
	for _, b := range out {
		sort.Strings(b.Members)
		b.Members = slices.Compact(b.Members)
		if len(b.Members) == 0 {
			continue
		}
		if b.Condition != nil {
			p.Version = 3
		}
		p.Bindings = append(p.Bindings, b)
	}
	sort.SliceStable(p.Bindings, func(i, j int) bool { return p.Bindings[i].Role < p.Bindings[j].Role })
}

func sameCondition(a, b *expr.Expr) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return proto.Equal(a, b)
}

// forgetAccount rewrites every policy's bindings of a deleted service account the way Google shows
// them: "deleted:serviceAccount:<email>?uid=<unique id>", no longer granting a recreated account.
func (s *Server) forgetAccount(email, uid string) {
	from, to := "serviceAccount:"+email, "deleted:serviceAccount:"+email+"?uid="+uid
	for _, e := range s.st.policies {
		changed := false
		for _, b := range e.policy.Bindings {
			for i, m := range b.Members {
				if m == from {
					b.Members[i], changed = to, true
				}
			}
		}
		if changed {
			normalize(e.policy)
			e.etag = newEtag(s.next())
		}
	}
}

// Policy returns a copy of the stored policy of resource (version 3, nil if none was ever set).
func (s *Server) Policy(resource string) *iampb.Policy {
	s.lock()
	defer s.mu.Unlock()
	e, ok := s.st.policies[resource]
	if !ok {
		return nil
	}
	p := clone(e.policy)
	p.Etag = slices.Clone(e.etag)
	return p
}

// DropPolicy forgets the policy of resource, as deleting the resource does (the Pub/Sub proxy calls
// it when a topic or subscription is deleted).
func (s *Server) DropPolicy(resource string) {
	s.lock()
	defer s.mu.Unlock()
	delete(s.st.policies, resource)
}

// iamPolicyService is the generic google.iam.v1.IAMPolicy service, used for Pub/Sub topics and
// subscriptions (whose emulator has no IAM). Resources are taken as named.
type iamPolicyService struct {
	iampb.UnimplementedIAMPolicyServer
	s *Server
}

func (i iamPolicyService) check(resource string) error {
	if resource == "" {
		return status.Error(codes.InvalidArgument, "resource is required")
	}
	if i.s.opts.IAMResource != nil {
		return i.s.opts.IAMResource(resource)
	}
	return nil
}

func (i iamPolicyService) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	if err := i.check(req.GetResource()); err != nil {
		return nil, err
	}
	i.s.lock()
	defer i.s.mu.Unlock()
	return i.s.getPolicy(req.GetResource(), req.GetOptions())
}

func (i iamPolicyService) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	if err := i.check(req.GetResource()); err != nil {
		return nil, err
	}
	i.s.lock()
	defer i.s.mu.Unlock()
	return i.s.setPolicy(req.GetResource(), req.GetPolicy())
}

func (i iamPolicyService) TestIamPermissions(_ context.Context, req *iampb.TestIamPermissionsRequest) (*iampb.TestIamPermissionsResponse, error) {
	if err := i.check(req.GetResource()); err != nil {
		return nil, err
	}
	return &iampb.TestIamPermissionsResponse{Permissions: req.GetPermissions()}, nil
}

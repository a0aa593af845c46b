package gcpfake

import (
	"context"
	"fmt"
	"sort"
	"strings"

	iamadminpb "cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

type iamAdminService struct {
	*iamadminpb.UnimplementedIAMServer
	s *Server
}

// account finds a service account by projects/<p|->/serviceAccounts/<email|unique id>.
func (s *Server) account(name string) (*iamadminpb.ServiceAccount, error) {
	parts, ok := splitName(name, "projects/*/serviceAccounts/*")
	if !ok {
		return nil, badName("service account", name, "projects/{PROJECT}/serviceAccounts/{EMAIL_OR_UNIQUE_ID}")
	}
	if parts[0] != "-" {
		if err := s.checkProject(parts[0]); err != nil {
			return nil, err
		}
	}
	if sa, ok := s.st.accounts[parts[1]]; ok {
		return sa, nil
	}
	for _, sa := range s.st.accounts {
		if sa.UniqueId == parts[1] {
			return sa, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "Unknown service account: %s", parts[1])
}

func (i iamAdminService) CreateServiceAccount(_ context.Context, req *iamadminpb.CreateServiceAccountRequest) (*iamadminpb.ServiceAccount, error) {
	s := i.s
	parts, ok := splitName(req.GetName(), "projects/*")
	if !ok {
		return nil, badName("project", req.GetName(), "projects/{PROJECT}")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return nil, err
	}
	if err := checkAccountID(req.GetAccountId()); err != nil {
		return nil, err
	}
	in := req.GetServiceAccount()
	if len(in.GetDisplayName()) > 100 {
		return nil, invalid("display_name is longer than 100 characters.")
	}
	if len(in.GetDescription()) > 256 {
		return nil, invalid("description is longer than 256 characters.")
	}
	s.lock()
	defer s.mu.Unlock()
	email := fmt.Sprintf("%s@%s.iam.gserviceaccount.com", req.GetAccountId(), s.opts.Project)
	if _, exists := s.st.accounts[email]; exists {
		return nil, status.Errorf(codes.AlreadyExists, "Service account %s already exists within project projects/%s.", req.GetAccountId(), s.opts.Project)
	}
	uid := fmt.Sprintf("1%020d", s.next()*7919)
	sa := &iamadminpb.ServiceAccount{
		Name: fmt.Sprintf("projects/%s/serviceAccounts/%s", s.opts.Project, email), ProjectId: s.opts.Project,
		UniqueId: uid, Email: email, DisplayName: in.GetDisplayName(), Description: in.GetDescription(),
		Oauth2ClientId: uid,
	}
	s.st.accounts[email] = sa
	return clone(sa), nil
}

func (i iamAdminService) GetServiceAccount(_ context.Context, req *iamadminpb.GetServiceAccountRequest) (*iamadminpb.ServiceAccount, error) {
	s := i.s
	s.lock()
	defer s.mu.Unlock()
	sa, err := s.account(req.GetName())
	if err != nil {
		return nil, err
	}
	return clone(sa), nil
}

func (i iamAdminService) DeleteServiceAccount(_ context.Context, req *iamadminpb.DeleteServiceAccountRequest) (*emptypb.Empty, error) {
	s := i.s
	s.lock()
	defer s.mu.Unlock()
	sa, err := s.account(req.GetName())
	if err != nil {
		return nil, err
	}
	delete(s.st.accounts, sa.Email)
	delete(s.st.policies, sa.Name)
	s.forgetAccount(sa.Email, sa.UniqueId)
	return &emptypb.Empty{}, nil
}

func (i iamAdminService) ListServiceAccounts(_ context.Context, req *iamadminpb.ListServiceAccountsRequest) (*iamadminpb.ListServiceAccountsResponse, error) {
	s := i.s
	parts, ok := splitName(req.GetName(), "projects/*")
	if !ok {
		return nil, badName("project", req.GetName(), "projects/{PROJECT}")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	var emails []string
	for e := range s.st.accounts {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	emails, next, err := page(emails, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &iamadminpb.ListServiceAccountsResponse{NextPageToken: next}
	for _, e := range emails {
		resp.Accounts = append(resp.Accounts, clone(s.st.accounts[e]))
	}
	return resp, nil
}

func (i iamAdminService) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	s := i.s
	s.lock()
	defer s.mu.Unlock()
	sa, err := s.account(req.GetResource())
	if err != nil {
		return nil, err
	}
	return s.getPolicy(sa.Name, req.GetOptions())
}

func (i iamAdminService) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	s := i.s
	s.lock()
	defer s.mu.Unlock()
	sa, err := s.account(req.GetResource())
	if err != nil {
		return nil, err
	}
	return s.setPolicy(sa.Name, req.GetPolicy())
}

// ServiceAccounts returns copies of every service account, sorted by email.
func (s *Server) ServiceAccounts() []*iamadminpb.ServiceAccount {
	s.lock()
	defer s.mu.Unlock()
	var out []*iamadminpb.ServiceAccount
	for _, sa := range s.st.accounts {
		out = append(out, clone(sa))
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Email, out[j].Email) < 0 })
	return out
}

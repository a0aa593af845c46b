package gcpfake

import (
	"context"
	"fmt"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type projectsService struct {
	resourcemanagerpb.UnimplementedProjectsServer
	s *Server
}

func (s *Server) projectResource() string { return "projects/" + s.opts.Project }

// project checks projects/<id|number>.
func (s *Server) project(name string) error {
	parts, ok := splitName(name, "projects/*")
	if !ok {
		return badName("project", name, "projects/{PROJECT_ID_OR_NUMBER}")
	}
	return s.checkProject(parts[0])
}

func (p projectsService) GetProject(_ context.Context, req *resourcemanagerpb.GetProjectRequest) (*resourcemanagerpb.Project, error) {
	s := p.s
	if err := s.project(req.GetName()); err != nil {
		return nil, err
	}
	return &resourcemanagerpb.Project{
		Name: fmt.Sprintf("projects/%d", s.opts.ProjectNumber), ProjectId: s.opts.Project, DisplayName: s.opts.Project,
		State: resourcemanagerpb.Project_ACTIVE, CreateTime: timestamppb.New(startTime), Etag: "W/\"fake\"",
	}, nil
}

func (p projectsService) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	s := p.s
	if err := s.project(req.GetResource()); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	return s.getPolicy(s.projectResource(), req.GetOptions())
}

func (p projectsService) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	s := p.s
	if err := s.project(req.GetResource()); err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	return s.setPolicy(s.projectResource(), req.GetPolicy())
}

// runService answers the IAM policy of the Cloud Run service behind each deployed function.
type runService struct {
	runpb.UnimplementedServicesServer
	s *Server
}

// service canonicalizes projects/<p>/locations/<r>/services/<id> of a deployed function; a service
// no function has deployed is NOT_FOUND.
func (s *Server) service(name string) (string, error) {
	parts, ok := splitName(name, "projects/*/locations/*/services/*")
	if !ok {
		return "", badName("service", name, "projects/{PROJECT}/locations/{LOCATION}/services/{SERVICE}")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return "", err
	}
	canon := fmt.Sprintf("projects/%s/locations/%s/services/%s", s.opts.Project, parts[1], parts[2])
	f, ok := s.st.functions[fmt.Sprintf("projects/%s/locations/%s/functions/%s", s.opts.Project, parts[1], parts[2])]
	if !ok || f.zip == nil {
		return "", status.Errorf(codes.NotFound, "Resource '%s' of kind 'SERVICE' in region '%s' in project '%s' does not exist.", parts[2], parts[1], parts[0])
	}
	return canon, nil
}

func (r runService) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	s := r.s
	s.lock()
	defer s.mu.Unlock()
	name, err := s.service(req.GetResource())
	if err != nil {
		return nil, err
	}
	return s.getPolicy(name, req.GetOptions())
}

func (r runService) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	s := r.s
	s.lock()
	defer s.mu.Unlock()
	name, err := s.service(req.GetResource())
	if err != nil {
		return nil, err
	}
	return s.setPolicy(name, req.GetPolicy())
}

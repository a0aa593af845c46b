package gcpfake

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// function is a stored Cloud Function with the zip it runs and the operation holding it, if any.
type function struct {
	fn   *functionspb.Function
	zip  []byte
	busy string
	rev  int
}

// upload is a URL handed out by GenerateUploadUrl and the object it writes.
type upload struct {
	bucket, object string
}

const functionPattern = "projects/*/locations/*/functions/*"

type functionsService struct {
	functionspb.UnimplementedFunctionServiceServer
	s *Server
}

func nowpb() *timestamppb.Timestamp { return timestamppb.Now() }

// parseLocation checks projects/<p>/locations/<r>.
func (s *Server) parseLocation(parent string) (project, region string, err error) {
	parts, ok := splitName(parent, "projects/*/locations/*")
	if !ok {
		return "", "", badName("parent", parent, "projects/*/locations/*")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return "", "", err
	}
	if !regionPattern.MatchString(parts[1]) {
		return "", "", invalid("Invalid location %q: want a region such as us-central1.", parts[1])
	}
	return parts[0], parts[1], nil
}

// functionName canonicalizes a function name to the project id; it returns the id and region too.
func (s *Server) functionName(name string) (canon, region, id string, err error) {
	parts, ok := splitName(name, functionPattern)
	if !ok {
		return "", "", "", badName("function", name, functionPattern)
	}
	if _, _, err := s.parseLocation("projects/" + parts[0] + "/locations/" + parts[1]); err != nil {
		return "", "", "", err
	}
	return fmt.Sprintf("projects/%s/locations/%s/functions/%s", s.opts.Project, parts[1], parts[2]), parts[1], parts[2], nil
}

func notFoundFunction(name string) error {
	return status.Errorf(codes.NotFound, "Resource '%s' was not found", name)
}

func (f functionsService) GenerateUploadUrl(_ context.Context, req *functionspb.GenerateUploadUrlRequest) (*functionspb.GenerateUploadUrlResponse, error) {
	s := f.s
	_, region, err := s.parseLocation(req.GetParent())
	if err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	token := fmt.Sprintf("%016x", uint64(s.next())*0x9e3779b97f4a7c15)
	u := &upload{bucket: fmt.Sprintf("gcf-v2-uploads-%d.%s.cloudfunctions.appspot.com", s.opts.ProjectNumber, region), object: token + ".zip"}
	s.st.uploads[token] = u
	return &functionspb.GenerateUploadUrlResponse{
		UploadUrl:     fmt.Sprintf("%s/upload/%s/%s?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=fake", s.httpURL, u.bucket, u.object),
		StorageSource: &functionspb.StorageSource{Bucket: u.bucket, Object: u.object},
	}, nil
}

func (f functionsService) GetFunction(_ context.Context, req *functionspb.GetFunctionRequest) (*functionspb.Function, error) {
	s := f.s
	name, _, _, err := s.functionName(req.GetName())
	if err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	fn, ok := s.st.functions[name]
	if !ok {
		return nil, notFoundFunction(req.GetName())
	}
	return clone(fn.fn), nil
}

func (f functionsService) ListFunctions(_ context.Context, req *functionspb.ListFunctionsRequest) (*functionspb.ListFunctionsResponse, error) {
	s := f.s
	parts, ok := splitName(req.GetParent(), "projects/*/locations/*")
	if !ok {
		return nil, badName("parent", req.GetParent(), "projects/*/locations/*")
	}
	if err := s.checkProject(parts[0]); err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("projects/%s/locations/%s/functions/", s.opts.Project, parts[1])
	if parts[1] == "-" {
		prefix = fmt.Sprintf("projects/%s/locations/", s.opts.Project)
	}
	s.lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.st.functions {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names, next, err := page(names, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &functionspb.ListFunctionsResponse{NextPageToken: next}
	for _, n := range names {
		resp.Functions = append(resp.Functions, clone(s.st.functions[n].fn))
	}
	return resp, nil
}

func (s *Server) functionOpName(region string) string {
	return fmt.Sprintf("projects/%s/locations/%s/operations/operation-%d", s.opts.Project, region, s.next())
}

func (f functionsService) CreateFunction(_ context.Context, req *functionspb.CreateFunctionRequest) (*longrunningpb.Operation, error) {
	s := f.s
	project, region, err := s.parseLocation(req.GetParent())
	if err != nil {
		return nil, err
	}
	if req.GetFunction() == nil {
		return nil, invalid("function is required.")
	}
	id := req.GetFunctionId()
	if id == "" {
		parts, ok := splitName(req.GetFunction().GetName(), functionPattern)
		if !ok {
			return nil, invalid("function_id is required.")
		}
		id = parts[2]
	}
	if !functionIDPattern.MatchString(id) {
		return nil, invalid("Invalid function_id %q: 4-63 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen.", id)
	}
	name := fmt.Sprintf("projects/%s/locations/%s/functions/%s", s.opts.Project, region, id)
	if n := req.GetFunction().GetName(); n != "" && n != name && n != fmt.Sprintf("projects/%s/locations/%s/functions/%s", project, region, id) {
		return nil, invalid("function.name %q does not match parent and function_id.", n)
	}
	s.lock()
	defer s.mu.Unlock()
	fn := clone(req.GetFunction())
	clearOutputOnly(fn)
	fn.Name = name
	if fn.Environment == functionspb.Environment_ENVIRONMENT_UNSPECIFIED {
		fn.Environment = functionspb.Environment_GEN_2
	}
	if err := s.checkFunction(fn); err != nil {
		return nil, err
	}
	meta := functionOpMeta(name, "create", functionspb.OperationType_CREATE_FUNCTION)
	meta.RequestResource, _ = anypb.New(req.GetFunction())
	opName := s.functionOpName(region)
	if _, exists := s.st.functions[name]; exists {
		// As the API documents: the operation, not the call, answers ALREADY_EXISTS.
		return s.startOp(opName, meta, func() (proto.Message, error) {
			meta.EndTime = nowpb()
			return nil, status.Errorf(codes.AlreadyExists, "Function %s already exists.", name)
		})
	}
	fn.State = functionspb.Function_DEPLOYING
	fn.CreateTime, fn.UpdateTime = nowpb(), nowpb()
	stored := &function{fn: fn, busy: opName}
	s.st.functions[name] = stored
	return s.startOp(opName, meta, func() (proto.Message, error) {
		meta.EndTime = nowpb()
		stored.busy = ""
		zip := s.st.sources[sourceKey(fn)]
		if err := s.build(fn, zip); err != nil {
			fn.State = functionspb.Function_FAILED
			fn.StateMessages = []*functionspb.StateMessage{{Severity: functionspb.StateMessage_ERROR, Type: "BuildFailed", Message: err.Error()}}
			return nil, status.Errorf(codes.InvalidArgument, "Build failed: %v", err)
		}
		stored.zip = zip
		s.deployed(stored, region, id)
		return proto.Clone(fn), nil
	})
}

// deployed marks a function ACTIVE behind its loopback URI with a new revision.
func (s *Server) deployed(f *function, region, id string) {
	f.rev++
	fn := f.fn
	if fn.ServiceConfig == nil {
		fn.ServiceConfig = &functionspb.ServiceConfig{}
	}
	sc := fn.ServiceConfig
	sc.Service = fmt.Sprintf("projects/%s/locations/%s/services/%s", s.opts.Project, region, id)
	sc.Uri = fmt.Sprintf("%s/functions/%s/%s/%s", s.httpURL, s.opts.Project, region, id)
	sc.Revision = fmt.Sprintf("%s-%05d-fak", id, f.rev)
	if sc.TimeoutSeconds == 0 {
		sc.TimeoutSeconds = 60
	}
	if sc.AvailableMemory == "" {
		sc.AvailableMemory = "256M"
	}
	if sc.MaxInstanceCount == 0 {
		sc.MaxInstanceCount = 100
	}
	if sc.MaxInstanceRequestConcurrency == 0 {
		sc.MaxInstanceRequestConcurrency = 1
	}
	if sc.ServiceAccountEmail == "" {
		sc.ServiceAccountEmail = fmt.Sprintf("%d-compute@developer.gserviceaccount.com", s.opts.ProjectNumber)
	}
	if sc.IngressSettings == functionspb.ServiceConfig_INGRESS_SETTINGS_UNSPECIFIED {
		sc.IngressSettings = functionspb.ServiceConfig_ALLOW_ALL
	}
	sc.AllTrafficOnLatestRevision = true
	if fn.BuildConfig.EntryPoint == "" {
		fn.BuildConfig.EntryPoint = id
	}
	fn.BuildConfig.Build = fmt.Sprintf("projects/%d/locations/%s/builds/fake-%d", s.opts.ProjectNumber, region, s.next())
	fn.Url = sc.Uri
	fn.State = functionspb.Function_ACTIVE
	fn.StateMessages = nil
	fn.UpdateTime = nowpb()
}

func sourceKey(fn *functionspb.Function) string {
	src := fn.GetBuildConfig().GetSource().GetStorageSource()
	return src.GetBucket() + "/" + src.GetObject()
}

// build runs Options.Build, or the default check of a readable, non-empty zip.
func (s *Server) build(fn *functionspb.Function, zipped []byte) error {
	if s.opts.Build != nil {
		return s.opts.Build(clone(fn), zipped)
	}
	r, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return fmt.Errorf("the source is not a zip archive: %v", err)
	}
	if len(r.File) == 0 {
		return fmt.Errorf("the source archive is empty")
	}
	return nil
}

// clearOutputOnly drops what a caller cannot set.
func clearOutputOnly(fn *functionspb.Function) {
	fn.State, fn.UpdateTime, fn.CreateTime, fn.StateMessages, fn.Url, fn.SatisfiesPzs = 0, nil, nil, nil, "", false
	if sc := fn.ServiceConfig; sc != nil {
		sc.Service, sc.Uri, sc.Revision = "", "", ""
	}
	if bc := fn.BuildConfig; bc != nil {
		bc.Build, bc.SourceProvenance = "", nil
	}
}

// updatable are the field paths UpdateFunction's mask may name (and their subfields).
var updatable = []string{"description", "labels", "build_config", "service_config", "event_trigger", "kms_key_name"}

// outputOnly are the output fields under the updatable ones.
var outputOnly = []string{"service_config.uri", "service_config.service", "service_config.revision", "build_config.build", "build_config.source_provenance"}

func (f functionsService) UpdateFunction(_ context.Context, req *functionspb.UpdateFunctionRequest) (*longrunningpb.Operation, error) {
	s := f.s
	if req.GetFunction() == nil {
		return nil, invalid("function is required.")
	}
	name, region, id, err := s.functionName(req.GetFunction().GetName())
	if err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	stored, ok := s.st.functions[name]
	if !ok {
		return nil, notFoundFunction(req.GetFunction().GetName())
	}
	if stored.busy != "" {
		return nil, status.Errorf(codes.Aborted, "unable to queue the operation: operation %s on function %s is in progress", stored.busy, name)
	}
	next := clone(stored.fn)
	src := clone(req.GetFunction())
	src.Name = next.Name
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		paths = updatable
	}
	for _, p := range paths {
		canon, err := protoPath(next, p)
		if err != nil {
			return nil, err
		}
		top, _, _ := strings.Cut(canon, ".")
		if !slices.Contains(updatable, top) || slices.Contains(outputOnly, canon) {
			return nil, invalid("Invalid update_mask path %q: not an updatable field.", p)
		}
		if err := applyPath(next, src, canon); err != nil {
			return nil, err
		}
	}
	if err := s.checkFunction(next); err != nil {
		return nil, err
	}
	opName := s.functionOpName(region)
	meta := functionOpMeta(name, "update", functionspb.OperationType_UPDATE_FUNCTION)
	meta.RequestResource, _ = anypb.New(req.GetFunction())
	stored.busy = opName
	prevState := stored.fn.State
	stored.fn.State = functionspb.Function_DEPLOYING
	return s.startOp(opName, meta, func() (proto.Message, error) {
		meta.EndTime = nowpb()
		stored.busy = ""
		zip := s.st.sources[sourceKey(next)]
		if err := s.build(next, zip); err != nil {
			stored.fn.State = prevState
			stored.fn.StateMessages = []*functionspb.StateMessage{{Severity: functionspb.StateMessage_ERROR, Type: "BuildFailed", Message: err.Error()}}
			return nil, status.Errorf(codes.InvalidArgument, "Build failed: %v", err)
		}
		stored.fn, stored.zip = next, zip
		s.deployed(stored, region, id)
		return proto.Clone(stored.fn), nil
	})
}

func (f functionsService) DeleteFunction(_ context.Context, req *functionspb.DeleteFunctionRequest) (*longrunningpb.Operation, error) {
	s := f.s
	name, region, _, err := s.functionName(req.GetName())
	if err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	stored, ok := s.st.functions[name]
	if !ok {
		return nil, notFoundFunction(req.GetName())
	}
	if stored.busy != "" {
		return nil, status.Errorf(codes.Aborted, "unable to queue the operation: operation %s on function %s is in progress", stored.busy, name)
	}
	opName := s.functionOpName(region)
	stored.busy = opName
	stored.fn.State = functionspb.Function_DELETING
	return s.startOp(opName, functionOpMeta(name, "delete", functionspb.OperationType_DELETE_FUNCTION), func() (proto.Message, error) {
		delete(s.st.functions, name)
		if svc := stored.fn.GetServiceConfig().GetService(); svc != "" {
			delete(s.st.policies, svc)
		}
		return nil, nil
	})
}

// Functions returns copies of every function, sorted by name.
func (s *Server) Functions() []*functionspb.Function {
	s.lock()
	defer s.mu.Unlock()
	var out []*functionspb.Function
	for _, f := range s.st.functions {
		out = append(out, clone(f.fn))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FunctionSource returns the zip a function was last deployed from.
func (s *Server) FunctionSource(name string) ([]byte, bool) {
	s.lock()
	defer s.mu.Unlock()
	f, ok := s.st.functions[name]
	if !ok || f.zip == nil {
		return nil, false
	}
	return bytes.Clone(f.zip), true
}

// WaitIdle waits until no operation is pending (at most d).
func (s *Server) WaitIdle(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		s.lock()
		n := len(s.st.pending)
		s.mu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

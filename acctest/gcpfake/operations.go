package gcpfake

import (
	"context"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"

	fsadminpb "cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/functions/apiv2/functionspb"
	iamadminpb "cloud.google.com/go/iam/admin/apiv1/adminpb"
)

// state is everything the fakes hold; Reset replaces it.
type state struct {
	ops       map[string]*operation
	pending   []*operation
	functions map[string]*function
	uploads   map[string]*upload                    // by token
	sources   map[string][]byte                     // uploaded zips by "bucket/object"
	accounts  map[string]*iamadminpb.ServiceAccount // by email
	policies  map[string]*policyEntry               // by canonical resource name
	databases map[string]*fsadminpb.Database        // by name
	fields    map[string]*fsadminpb.Field           // explicitly configured fields, by name
}

func newState(opts Options) *state {
	st := &state{
		ops: map[string]*operation{}, functions: map[string]*function{}, uploads: map[string]*upload{},
		sources: map[string][]byte{}, accounts: map[string]*iamadminpb.ServiceAccount{},
		policies: map[string]*policyEntry{}, databases: map[string]*fsadminpb.Database{},
		fields: map[string]*fsadminpb.Field{},
	}
	if len(opts.ProjectBindings) > 0 {
		p := &iampb.Policy{Version: 1}
		for _, b := range opts.ProjectBindings {
			p.Bindings = append(p.Bindings, clone(b))
		}
		normalize(p)
		st.policies["projects/"+opts.Project] = &policyEntry{policy: p, etag: newEtag(0)}
	}
	return st
}

// operation is a long-running operation: finish runs (under the server's lock) once due has passed.
// meta is the operation's metadata message, which finish may update before it is packed again.
type operation struct {
	op     *longrunningpb.Operation
	meta   proto.Message
	due    time.Time
	seq    int64
	finish func() (proto.Message, error)
}

// startOp records an operation named name that finish completes after the configured delay, and
// returns the not-yet-done operation as the API answers it.
func (s *Server) startOp(name string, meta proto.Message, finish func() (proto.Message, error)) (*longrunningpb.Operation, error) {
	delay := max(s.opts.OperationDelay, 0)
	o := &operation{op: &longrunningpb.Operation{Name: name}, meta: meta, due: time.Now().Add(delay), seq: s.next(), finish: finish}
	if err := o.pack(); err != nil {
		return nil, err
	}
	s.st.ops[name] = o
	s.st.pending = append(s.st.pending, o)
	return clone(o.op), nil
}

func (o *operation) pack() error {
	if o.meta == nil {
		return nil
	}
	m, err := anypb.New(o.meta)
	if err != nil {
		return grpcstatus.Errorf(codes.Internal, "packing metadata: %v", err)
	}
	o.op.Metadata = m
	return nil
}

// settle finishes the operations due by now, oldest first.
func (s *Server) settle(now time.Time) {
	sort.Slice(s.st.pending, func(i, j int) bool { return s.st.pending[i].seq < s.st.pending[j].seq })
	var left []*operation
	for _, o := range s.st.pending {
		if o.due.After(now) {
			left = append(left, o)
			continue
		}
		resp, err := o.finish()
		o.op.Done = true
		if err != nil {
			st, _ := grpcstatus.FromError(err)
			o.op.Result = &longrunningpb.Operation_Error{Error: &status.Status{Code: int32(st.Code()), Message: st.Message()}}
		} else {
			if resp == nil {
				resp = &emptypb.Empty{}
			}
			a, aerr := anypb.New(resp)
			if aerr != nil {
				o.op.Result = &longrunningpb.Operation_Error{Error: &status.Status{Code: int32(codes.Internal), Message: aerr.Error()}}
			} else {
				o.op.Result = &longrunningpb.Operation_Response{Response: a}
			}
		}
		_ = o.pack()
	}
	s.st.pending = left
}

// Operations answers google.longrunning.Operations for every fake's operations.
type operationsService struct {
	longrunningpb.UnimplementedOperationsServer
	s *Server
}

func (o operationsService) GetOperation(_ context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	s := o.s
	s.lock()
	defer s.mu.Unlock()
	op, ok := s.st.ops[req.GetName()]
	if !ok {
		return nil, grpcstatus.Errorf(codes.NotFound, "Operation %s not found.", req.GetName())
	}
	return clone(op.op), nil
}

func (o operationsService) ListOperations(_ context.Context, req *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	s := o.s
	s.lock()
	defer s.mu.Unlock()
	var names []string
	for name := range s.st.ops {
		if strings.HasPrefix(name, req.GetName()+"/operations/") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	names, next, err := page(names, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &longrunningpb.ListOperationsResponse{NextPageToken: next}
	for _, n := range names {
		resp.Operations = append(resp.Operations, clone(s.st.ops[n].op))
	}
	return resp, nil
}

func (o operationsService) DeleteOperation(_ context.Context, req *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	s := o.s
	s.lock()
	defer s.mu.Unlock()
	if _, ok := s.st.ops[req.GetName()]; !ok {
		return nil, grpcstatus.Errorf(codes.NotFound, "Operation %s not found.", req.GetName())
	}
	delete(s.st.ops, req.GetName())
	return &emptypb.Empty{}, nil
}

// functionOpMeta is the metadata of a Cloud Functions operation.
func functionOpMeta(target, verb string, typ functionspb.OperationType) *functionspb.OperationMetadata {
	return &functionspb.OperationMetadata{CreateTime: nowpb(), Target: target, Verb: verb, ApiVersion: "v2", OperationType: typ}
}

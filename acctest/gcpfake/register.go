package gcpfake

import (
	"time"

	fsadminpb "cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/functions/apiv2/functionspb"
	iamadminpb "cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc"
)

// startTime is the fake project's creation time.
var startTime = time.Now()

// The official generated server interfaces each fake serves.
var (
	_ functionspb.FunctionServiceServer = functionsService{}
	_ longrunningpb.OperationsServer    = operationsService{}
	_ iamadminpb.IAMServer              = iamAdminService{UnimplementedIAMServer: &iamadminpb.UnimplementedIAMServer{}}
	_ runpb.ServicesServer              = runService{}
	_ resourcemanagerpb.ProjectsServer  = projectsService{}
	_ fsadminpb.FirestoreAdminServer    = firestoreAdminService{}
	_ iampb.IAMPolicyServer             = iamPolicyService{}
)

func (s *Server) register(g *grpc.Server) {
	functionspb.RegisterFunctionServiceServer(g, functionsService{s: s})
	longrunningpb.RegisterOperationsServer(g, operationsService{s: s})
	iamadminpb.RegisterIAMServer(g, iamAdminService{UnimplementedIAMServer: &iamadminpb.UnimplementedIAMServer{}, s: s})
	runpb.RegisterServicesServer(g, runService{s: s})
	resourcemanagerpb.RegisterProjectsServer(g, projectsService{s: s})
	fsadminpb.RegisterFirestoreAdminServer(g, firestoreAdminService{s: s})
	iampb.RegisterIAMPolicyServer(g, iamPolicyService{s: s})
}

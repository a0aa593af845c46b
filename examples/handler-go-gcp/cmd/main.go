// Command cmd runs the orders function locally with the Functions
// Framework, as Google's build does on Cloud Run functions (which generates
// its own main): PORT (8080) on HOST (every interface), FUNCTION_TARGET
// (HandleOrders), and the THREEFACTOR_* variables the provider injects.
package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/threefactor/terraform-provider-threefactor/examples/handler-go-gcp"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if os.Getenv("FUNCTION_TARGET") == "" {
		if err := os.Setenv("FUNCTION_TARGET", "HandleOrders"); err != nil {
			log.Fatal(err)
		}
	}
	if err := funcframework.StartHostPort(os.Getenv("HOST"), port); err != nil {
		log.Fatalf("funcframework.Start: %v", err)
	}
}

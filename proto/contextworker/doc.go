// Package workerpb is the Go code generated from worker.proto: ContextWorker's
// gRPC WorkerService, which package contextworker/starter/grpcfront serves.
// Only `make proto` writes the .pb.go files; never edit them by hand.
package workerpb

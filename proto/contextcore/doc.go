// Package contextcorepb is the Go code generated from context_unit.proto:
// the ContextUnit envelope that ContextUnity services exchange. Only `make
// proto` writes the .pb.go files; never edit them by hand.
package contextcorepb

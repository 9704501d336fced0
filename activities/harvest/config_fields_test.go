package harvest

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// checkOnly are the functions of config.go that only check or default a
// setting: a field read there alone is accepted and ignored.
var checkOnly = map[string]bool{"Validate": true, "DefaultConfig": true, "ValidateFeed": true, "UnmarshalYAML": true}

// TestEveryConfigFieldIsRead fails when a field of Config (or of a struct
// nested in it) is declared, so accepted by the strict config decoder, but
// no code of the harvest module reads it: a setting that silently does
// nothing. It type-checks the module's packages and counts every read of
// each field (not writes, not reads by the validation or the defaults).
func TestEveryConfigFieldIsRead(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the module's packages")
	}
	pkgPath := reflect.TypeOf(Config{}).PkgPath()
	declared := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || rt.PkgPath() != pkgPath {
			return
		}
		for i := range rt.NumField() {
			f := rt.Field(i)
			key := rt.Name() + "." + f.Name
			if declared[key] || !f.IsExported() {
				continue
			}
			declared[key] = false
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Config{}))

	imp := exportImporter(t, "../../modules/harvest")
	read := map[string]bool{}
	for dir, path := range map[string]string{".": pkgPath, "../../modules/harvest": "contextworker/modules/harvest"} {
		for key := range fieldReads(t, imp, dir, path, pkgPath) {
			read[key] = true
		}
	}
	var unread []string
	for key := range declared {
		if !read[key] {
			unread = append(unread, key)
		}
	}
	sort.Strings(unread)
	if len(unread) > 0 {
		t.Fatalf("config fields declared but never read (wire them through Plan and the activities, or remove them): %s", strings.Join(unread, ", "))
	}
	if len(declared) < 30 {
		t.Fatalf("found only %d config fields: the walk is broken", len(declared))
	}
}

// exportImporter imports packages from the compiler's export data, which
// `go list -export` builds (or finds in the build cache) for dir's
// dependencies: type-checking them from source takes minutes.
func exportImporter(t *testing.T, dir string) types.Importer {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}={{.Export}}", dir).Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, "="); ok && file != "" {
			exports[path] = file
		}
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}

// fieldReads type-checks the non-test Go files of dir (package path) and
// returns the fields of pkgPath's structs that they read, as "Type.Field".
func fieldReads(t *testing.T, imp types.Importer, dir, path, pkgPath string) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check(path, fset, files, info); err != nil {
		t.Fatalf("type-check %s: %v", dir, err)
	}
	out := map[string]bool{}
	for _, f := range files {
		inConfig := filepath.Base(fset.Position(f.Pos()).Filename) == "config.go"
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if ok && inConfig && checkOnly[fn.Name.Name] {
				continue
			}
			written := map[ast.Expr]bool{}
			ast.Inspect(decl, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					for _, lhs := range n.Lhs {
						written[lhs] = true
					}
				case *ast.SelectorExpr:
					sel := info.Selections[n]
					if sel == nil || sel.Kind() != types.FieldVal || written[n] {
						return true
					}
					recv := sel.Recv()
					if p, ok := recv.(*types.Pointer); ok {
						recv = p.Elem()
					}
					if named, ok := recv.(*types.Named); ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == pkgPath {
						out[named.Obj().Name()+"."+n.Sel.Name] = true
					}
				}
				return true
			})
		}
	}
	return out
}

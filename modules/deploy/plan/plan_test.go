package plan

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDetect(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name  string
		files fstest.MapFS
		want  *Stack
	}{
		{"go wins over a Makefile", fstest.MapFS{"go.mod": file("module x"), "Makefile": file("run:\n")},
			&Stack{Name: "go", Evidence: "go.mod", Build: [][]string{{"go", "build", "-o", "app", "."}}, Test: [][]string{{"go", "test", "./..."}}, Start: []string{"./app"}}},
		{"node with lock, build and test", fstest.MapFS{"package.json": file(`{"scripts":{"build":"tsc","test":"jest","start":"node dist"}}`), "package-lock.json": file("{}")},
			&Stack{Name: "node", Evidence: "package.json", Build: [][]string{{"npm", "ci", "--no-audit", "--no-fund"}, {"npm", "run", "build"}}, Test: [][]string{{"npm", "test"}}, Start: []string{"npm", "start"}}},
		{"node default test script", fstest.MapFS{"package.json": file(`{"main":"srv.js","scripts":{"test":"echo \"Error: no test specified\" && exit 1"}}`)},
			&Stack{Name: "node", Evidence: "package.json", Build: [][]string{{"npm", "install", "--no-audit", "--no-fund"}}, Start: []string{"node", "srv.js"}}},
		{"python requirements", fstest.MapFS{"requirements.txt": file("flask"), "app.py": file(""), "test_app.py": file("")},
			&Stack{Name: "python", Evidence: "requirements.txt", Build: [][]string{{"python3", "-m", "venv", ".venv"}, {".venv/bin/pip", "install", "-r", "requirements.txt"}}, Test: [][]string{{".venv/bin/python", "-m", "unittest", "discover"}}, Start: []string{".venv/bin/python", "app.py"}}},
		{"pyproject", fstest.MapFS{"pyproject.toml": file(""), "main.py": file("")},
			&Stack{Name: "python", Evidence: "pyproject.toml", Build: [][]string{{"python3", "-m", "venv", ".venv"}, {".venv/bin/pip", "install", "."}}, Start: []string{".venv/bin/python", "main.py"}}},
		{"docker", fstest.MapFS{"Dockerfile": file("FROM scratch")},
			&Stack{Name: "docker", Evidence: "Dockerfile", Build: [][]string{{"docker", "build", "-t", "shop:latest", "."}}, Start: []string{"docker", "run", "--rm", "--network=host", "--env=PORT", "shop:latest"}}},
		{"makefile", fstest.MapFS{"Makefile": file("VAR := 1\nbuild: dep\n\tcc\ntest:\n\t./t\nserve:\n\t./s\n")},
			&Stack{Name: "make", Evidence: "Makefile", Build: [][]string{{"make", "build"}}, Test: [][]string{{"make", "test"}}, Start: []string{"make", "serve"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(tt.files, "shop")
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Detect = %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

func TestDetectRefuses(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"nothing", fstest.MapFS{"README": {Data: []byte("hi")}}, "no known stack"},
		{"python without entry", fstest.MapFS{"requirements.txt": {}}, "without app.py"},
		{"make without run", fstest.MapFS{"Makefile": {Data: []byte("all:\n")}}, "no run, start or serve"},
		{"bad package.json", fstest.MapFS{"package.json": {Data: []byte("{")}}, "package.json"},
		{"huge package.json", fstest.MapFS{"package.json": {Data: make([]byte, maxRead+10)}}, "larger than"},
		{"go.mod is a directory", fstest.MapFS{"go.mod/x": {}}, "no known stack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Detect(tt.files, "m")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Detect(fstest.MapFS{}, "m"); !errors.Is(err, ErrUnknownStack) {
		t.Errorf("empty repo: %v", err)
	}
}

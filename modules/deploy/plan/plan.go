// Package plan is the tier-2 rules planner: it detects a repository's
// stack from its files (go.mod, package.json, requirements.txt or
// pyproject.toml, Dockerfile, Makefile) and proposes build, test and start
// commands as argv. Pure: it reads only the fs.FS it is given and runs
// nothing; every plan it makes still goes through the target's policy.
// AskLLM is the optional LLM planner: it asks a chat-completions model for
// the same argv lists and refuses any answer that is not a valid plan.
package plan

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// Stack is a detected stack and its proposed commands.
type Stack struct {
	// Name is go, node, python, docker or make.
	Name string `json:"name"`
	// Evidence names the file that decided it.
	Evidence string     `json:"evidence"`
	Build    [][]string `json:"build"`
	Test     [][]string `json:"test,omitempty"`
	Start    []string   `json:"start"`
}

// ErrUnknownStack is returned when no rule matches.
var ErrUnknownStack = errors.New("no known stack: add an ai-module.yaml, or one of go.mod, package.json, requirements.txt, pyproject.toml, Dockerfile, Makefile")

// maxRead bounds what Detect reads of any one file.
const maxRead = 256 << 10

// Detect inspects the repository root fsys. module names the image of a
// docker stack.
func Detect(fsys fs.FS, module string) (*Stack, error) {
	has := func(name string) bool {
		st, err := fs.Stat(fsys, name)
		return err == nil && st.Mode().IsRegular()
	}
	switch {
	case has("go.mod"):
		return &Stack{Name: "go", Evidence: "go.mod",
			Build: [][]string{{"go", "build", "-o", "app", "."}},
			Test:  [][]string{{"go", "test", "./..."}},
			Start: []string{"./app"}}, nil
	case has("package.json"):
		return node(fsys, has("package-lock.json"))
	case has("requirements.txt") || has("pyproject.toml"):
		return python(fsys, has)
	case has("Dockerfile"):
		return &Stack{Name: "docker", Evidence: "Dockerfile",
			Build: [][]string{{"docker", "build", "-t", module + ":latest", "."}},
			Start: []string{"docker", "run", "--rm", "--network=host", "--env=PORT", module + ":latest"}}, nil
	case has("Makefile"):
		return makefile(fsys)
	}
	return nil, ErrUnknownStack
}

func read(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, maxRead+1)
	n, err := f.Read(b)
	for err == nil && n <= maxRead {
		var m int
		m, err = f.Read(b[n:])
		n += m
	}
	if n > maxRead {
		return nil, fmt.Errorf("plan: %s is larger than %d bytes", name, maxRead)
	}
	return b[:n], nil
}

func node(fsys fs.FS, lock bool) (*Stack, error) {
	b, err := read(fsys, "package.json")
	if err != nil {
		return nil, err
	}
	var pkg struct {
		Main    string            `json:"main"`
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, fmt.Errorf("plan: package.json: %w", err)
	}
	s := &Stack{Name: "node", Evidence: "package.json", Build: [][]string{{"npm", "install", "--no-audit", "--no-fund"}}}
	if lock {
		s.Build = [][]string{{"npm", "ci", "--no-audit", "--no-fund"}}
	}
	if _, ok := pkg.Scripts["build"]; ok {
		s.Build = append(s.Build, []string{"npm", "run", "build"})
	}
	if t, ok := pkg.Scripts["test"]; ok && !strings.Contains(t, "no test specified") {
		s.Test = [][]string{{"npm", "test"}}
	}
	switch {
	case pkg.Scripts["start"] != "":
		s.Start = []string{"npm", "start"}
	case pkg.Main != "":
		s.Start = []string{"node", pkg.Main}
	default:
		s.Start = []string{"node", "index.js"}
	}
	return s, nil
}

func python(fsys fs.FS, has func(string) bool) (*Stack, error) {
	s := &Stack{Name: "python", Evidence: "requirements.txt"}
	s.Build = [][]string{{"python3", "-m", "venv", ".venv"}}
	if has("requirements.txt") {
		s.Build = append(s.Build, []string{".venv/bin/pip", "install", "-r", "requirements.txt"})
	} else {
		s.Evidence = "pyproject.toml"
		s.Build = append(s.Build, []string{".venv/bin/pip", "install", "."})
	}
	tests, _ := fs.Glob(fsys, "test_*.py")
	more, _ := fs.Glob(fsys, "tests/test_*.py")
	if len(tests)+len(more) > 0 {
		s.Test = [][]string{{".venv/bin/python", "-m", "unittest", "discover"}}
	}
	for _, entry := range []string{"app.py", "main.py", "server.py", "manage.py"} {
		if has(entry) {
			s.Start = []string{".venv/bin/python", entry}
			if entry == "manage.py" {
				s.Start = append(s.Start, "runserver")
			}
			return s, nil
		}
	}
	return nil, fmt.Errorf("plan: python stack (%s) without app.py, main.py, server.py or manage.py to start: add an ai-module.yaml", s.Evidence)
}

var makeTargetRE = regexp.MustCompile(`^([A-Za-z0-9_.-]+)\s*:([^=]|$)`)

func makefile(fsys fs.FS) (*Stack, error) {
	b, err := read(fsys, "Makefile")
	if err != nil {
		return nil, err
	}
	targets := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if m := makeTargetRE.FindStringSubmatch(sc.Text()); m != nil {
			targets[m[1]] = true
		}
	}
	s := &Stack{Name: "make", Evidence: "Makefile"}
	if targets["build"] {
		s.Build = [][]string{{"make", "build"}}
	} else {
		s.Build = [][]string{{"make"}}
	}
	if targets["test"] {
		s.Test = [][]string{{"make", "test"}}
	}
	for _, t := range []string{"run", "start", "serve"} {
		if targets[t] {
			s.Start = []string{"make", t}
			return s, nil
		}
	}
	return nil, errors.New("plan: Makefile has no run, start or serve target to start the module: add one, or an ai-module.yaml")
}

package localpg

import "testing"

func TestParsePIDFile(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		pid, port int
		wantErr   bool
	}{
		{name: "pg15", data: "4242\n/data/pg\n1700000000\n54321\n/data/pg\n127.0.0.1\n  1234  5678\nready   \n", pid: 4242, port: 54321},
		{name: "truncated", data: "4242\n/data/pg\n", wantErr: true},
		{name: "bad pid", data: "x\n/d\n1\n5432\n", wantErr: true},
		{name: "bad port", data: "1\n/d\n1\n\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, port, err := parsePIDFile([]byte(tt.data))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if pid != tt.pid || port != tt.port {
				t.Fatalf("got pid %d port %d, want %d %d", pid, port, tt.pid, tt.port)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"": "''", "/a b": "'/a b'", "it's": `'it'\''s'`} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"contextworker/internal/dev/feedgen"
	hwf "contextworker/workflows/harvest"
)

// demoEncryption shows that payload encryption is on: the dev server's
// SQLite files hold no SKU of the demo feed and not its host, and the
// starter's codec server decodes a payload of the harvest's history.
func (s *Stack) demoEncryption(ctx context.Context, c client.Client) (string, error) {
	if !s.encrypted {
		return "  temporal.encryption is off in temporal.yaml: payloads are stored in plaintext", nil
	}
	var b strings.Builder
	if s.temporal == nil {
		b.WriteString("  (Temporal was not started by make run: its database was not checked)\n")
	} else {
		db := filepath.Join(s.data, "temporal.db")
		needles := []string{feedgen.SKU(147), s.o.FeedAddr}
		fmt.Fprintf(&b, "  grep %q in .data/temporal.db{,-wal}: ", needles)
		found, err := grepFiles(db, needles)
		switch {
		case err != nil:
			return "", err
		case len(found) == 0:
			b.WriteString("nothing found: the dev server stores payloads encrypted\n")
		default:
			fmt.Fprintf(&b, "FOUND %s (a .data/temporal.db from before encryption was on? remove it)\n", strings.Join(found, ", "))
		}
		// The control: workflow ids are not payloads, so the same grep
		// finds one; were it not found, the grep above would prove nothing.
		control := hwf.WorkflowID("acme", "demo")
		if found, err := grepFiles(db, []string{control}); err != nil || len(found) == 0 {
			return b.String(), fmt.Errorf("encryption check: the control %q (a workflow id, never encrypted) is not in .data/temporal.db either: the check proves nothing (%v)", control, err)
		}
		fmt.Fprintf(&b, "  (control: the same grep finds the workflow id %q, which is not a payload)\n", control)
	}
	id := hwf.WorkflowID("acme", "demo")
	dec, err := s.decodeStartInput(ctx, c, id)
	if err != nil {
		return b.String(), err
	}
	fmt.Fprintf(&b, "  %s's input through the codec server (%s/codec/default/decode): %s\n", id, s.o.StarterURL, dec)
	fmt.Fprintf(&b, "  bin/temporal workflow show --workflow-id %s --codec-endpoint %s/codec/default", id, s.o.StarterURL)
	return b.String(), nil
}

// grepFiles reports which needles occur in the SQLite file path or its
// write-ahead log.
func grepFiles(path string, needles []string) ([]string, error) {
	var found []string
	for _, p := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("grep %s: %w", p, err)
		}
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				found = append(found, fmt.Sprintf("%q in %s", n, filepath.Base(p)))
			}
		}
	}
	return found, nil
}

// decodeStartInput reads the raw (encrypted) input payload of id's first
// event and has the starter's codec server decode it, as the Web UI does.
func (s *Stack) decodeStartInput(ctx context.Context, c client.Client, id string) (string, error) {
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return "", fmt.Errorf("codec check: %s has no history", id)
	}
	ev, err := it.Next()
	if err != nil {
		return "", fmt.Errorf("codec check: history of %s: %w", id, err)
	}
	in := ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
	if len(in.GetPayloads()) == 0 {
		return "", fmt.Errorf("codec check: %s started without input", id)
	}
	stored := string(in.GetPayloads()[0].GetMetadata()["encoding"])
	body, err := protojson.Marshal(in)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.StarterURL+"/codec/default/decode", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("codec check: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("codec check: decode answered %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal(raw, &out); err != nil || len(out.GetPayloads()) == 0 {
		return "", fmt.Errorf("codec check: decode answered %q: %v", raw, err)
	}
	p := out.GetPayloads()[0]
	return fmt.Sprintf("stored as %s, decoded to %s %s", stored, p.GetMetadata()["encoding"], p.GetData()), nil
}

package codec

import (
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

func TestDataConverterEncrypts(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	dc := DataConverter(c)
	p, err := dc.ToPayload(map[string]string{"feed_url": "https://user:" + marker + "@feeds.example/x.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata["encoding"]) != EncodingEncrypted || strings.Contains(string(p.Data), marker) {
		t.Fatalf("data converter output is not encrypted: %v", p)
	}
	var back map[string]string
	if err := dc.FromPayload(p, &back); err != nil || !strings.Contains(back["feed_url"], marker) {
		t.Fatalf("round trip: %v %v", back, err)
	}
}

// TestFailureConverterEncryptsMessages: with EncodeCommonAttributes the
// failure's message and stack trace travel in an encrypted payload; the
// plaintext message field says only "Encoded failure".
func TestFailureConverterEncryptsMessages(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	fc := FailureConverter(DataConverter(c))
	f := fc.ErrorToFailure(temporal.NewApplicationError("fetch "+marker+" failed", "FeedError"))
	wire, _ := proto.Marshal(f)
	if strings.Contains(string(wire), marker) {
		t.Fatalf("failure holds the message in plaintext: %v", f)
	}
	if f.GetEncodedAttributes() == nil || string(f.GetEncodedAttributes().GetMetadata()["encoding"]) != EncodingEncrypted {
		t.Fatalf("failure attributes not encrypted: %v", f)
	}
	back := fc.FailureToError(f)
	var app *temporal.ApplicationError
	if !errors.As(back, &app) || !strings.Contains(app.Error(), marker) || app.Type() != "FeedError" {
		t.Fatalf("decoded failure = %v", back)
	}
}

func TestApply(t *testing.T) {
	var opts client.Options
	Apply(&opts, nil)
	if opts.DataConverter != nil || opts.FailureConverter != nil {
		t.Fatal("nil codec changed the options")
	}
	Apply(&opts, New(keyring(t, "k1", map[string][]byte{"k1": key(t)})))
	if opts.DataConverter == nil || opts.FailureConverter == nil {
		t.Fatal("converters not set")
	}
}

package imagekittest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// FuzzReadLibrary checks the library reader against encoding/json: it never
// accepts what is not JSON, and what it accepts it writes back object for
// object, byte for byte.
func FuzzReadLibrary(f *testing.F) {
	for _, s := range []string{
		givenLibrary,
		`[]`,
		`[{"fileId":"a","filePath":"/a.jpg"}]`,
		`[{"fileId":"a","filePath":"/a.jpg","tags":["x","y"],"AITags":[{"name":"z"}],"size":1.5e3}]`,
		`[{"fileId":"a\u0041","filePath":"/a b/\u00e9.jpg","createdAt":"2024-02-29T23:59:59.999999999Z"}]`,
		`[{"fileId":"a","filePath":"/a.jpg","x":[[{}],-0.0e-0,true,false,null,"\ud83d\ude00"]}]`,
		`[{"fileId":"a","filePath":"/a.jpg"},{"fileId":"a","filePath":"/b.jpg"}]`,
		`[{"fileId":"a","filePath":"/a.jpg",}]`,
		`[{"fileId":"a","filePath":"/a.jpg"}] x`,
		`[01]`, `[1.]`, `["\x"]`, "[\"\x01\"]", `{`, ` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lib, err := imagekittest.ReadLibrary(context.Background(), bytes.NewReader(data))
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		var b bytes.Buffer
		if _, err := lib.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		var in, out []json.RawMessage
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatalf("accepted %q, which is not a JSON array: %v", data, err)
		}
		if err := json.Unmarshal(b.Bytes(), &out); err != nil {
			t.Fatalf("wrote invalid JSON %q: %v", b.Bytes(), err)
		}
		if len(in) != len(out) || len(in) != lib.Len() {
			t.Fatalf("read %d objects, holds %d, wrote %d", len(in), lib.Len(), len(out))
		}
		for i := range in {
			if !bytes.Equal(in[i], out[i]) {
				t.Fatalf("object %d changed:\n%s\n%s", i, in[i], out[i])
			}
		}
		files := lib.Files()
		if len(files) != len(in) {
			t.Fatalf("Files returned %d files, want %d", len(files), len(in))
		}
	})
}

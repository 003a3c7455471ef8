package imagekittest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadLibrary reads a library file: a JSON array of file objects. It checks
// that every fileId is non-empty and unique and that every filePath starts
// with "/"; errors name the file and the offending entry.
func LoadLibrary(path string) ([]File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read library %s: %w", path, err)
	}
	var files []File
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&files); err != nil {
		return nil, fmt.Errorf("parse library %s: %w (a library is a JSON array of ImageKit file objects)", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse library %s: data after the JSON array", path)
	}
	seen := make(map[string]int, len(files))
	for i, f := range files {
		if f.FileID == "" {
			return nil, fmt.Errorf("library %s: file %d (%q) has no fileId: give every file a unique fileId", path, i, f.FilePath)
		}
		if j, dup := seen[f.FileID]; dup {
			return nil, fmt.Errorf("library %s: files %d and %d share fileId %q: file ids must be unique", path, j, i, f.FileID)
		}
		seen[f.FileID] = i
		if !strings.HasPrefix(f.FilePath, "/") {
			return nil, fmt.Errorf("library %s: file %q has filePath %q: it must start with /", path, f.FileID, f.FilePath)
		}
	}
	return files, nil
}

// SaveLibrary writes files to path as an indented JSON array, atomically:
// it writes a temporary file in the same directory and renames it over path.
func SaveLibrary(path string, files []File) (err error) {
	if files == nil {
		files = []File{}
	}
	data, err := json.MarshalIndent(files, "", "  ")
	if err != nil {
		return fmt.Errorf("encode library %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save library %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("save library %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("save library %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("save library %s: %w", path, err)
	}
	if info, statErr := os.Stat(path); statErr == nil {
		_ = os.Chmod(tmp.Name(), info.Mode().Perm())
	} else {
		_ = os.Chmod(tmp.Name(), 0o644)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save library %s: %w", path, err)
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
)

// library is where a command reads and changes files: the ImageKit API, or a
// local snapshot served in process by the emulator's handler.
type library struct {
	client  *api.Client
	where   string                // the API URL or the snapshot file, for messages
	handler *imagekittest.Handler // set in --library mode
	file    string                // the snapshot file in --library mode
}

// openLibrary builds the client for the library the flags name. Nothing is
// sent yet.
func openLibrary(c *cli.Context, logger *slog.Logger) (*library, error) {
	ua := "tagprune/" + version
	if file := c.String(flagLibrary); file != "" {
		lib, err := imagekittest.OpenLibrary(c.Context, file)
		if err != nil {
			return nil, fmt.Errorf("--library: %w", err)
		}
		h := imagekittest.NewLibraryHandler(lib)
		client, err := api.New(
			// The handler runs in process: this URL is never dialled.
			api.WithBaseURL("http://127.0.0.1"),
			api.WithHandler(h),
			api.WithUserAgent(ua),
			api.WithRate(0, 0),
			api.WithLogger(logger),
		)
		if err != nil {
			return nil, err
		}
		return &library{client: client, where: file, handler: h, file: file}, nil
	}
	key, err := privateKey(c)
	if err != nil {
		return nil, err
	}
	url := c.String(flagAPIURL)
	timeout := c.Duration(flagTimeout)
	if timeout <= 0 {
		return nil, fmt.Errorf("--timeout %s: want a positive duration such as 30s", timeout)
	}
	client, err := api.New(
		api.WithBaseURL(url),
		api.WithPrivateKey(key),
		api.WithUserAgent(ua),
		api.WithTimeout(timeout),
		api.WithLogger(logger),
	)
	if err != nil {
		return nil, fmt.Errorf("--api-url: %w", err)
	}
	return &library{client: client, where: url}, nil
}

// save writes a changed snapshot back to its file (atomically); it does
// nothing when the library is the API.
func (l *library) save() error {
	if l.handler == nil {
		return nil
	}
	if err := writeLibrary(l.file, l.handler.Library()); err != nil {
		return fmt.Errorf("write the library back to %s: %w", l.file, err)
	}
	return nil
}

// writeLibrary writes lib to path atomically: to a temporary file in the
// directory of path's target (path may be a symlink), then renamed over it,
// with the mode of the file it replaces.
func writeLibrary(path string, lib *imagekittest.Library) (err error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
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
	if _, err = lib.WriteTo(tmp); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("save library %s: %w", path, err)
	}
	mode := os.FileMode(0o644)
	if info, statErr := os.Stat(path); statErr == nil {
		mode = info.Mode().Perm()
	}
	_ = os.Chmod(tmp.Name(), mode)
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save library %s: %w", path, err)
	}
	return nil
}

// privateKey reads the key from --private-key-file or IMAGEKIT_PRIVATE_KEY.
func privateKey(c *cli.Context) (string, error) {
	if path := c.String(flagPrivateKeyFile); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("--private-key-file: %w", err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("--private-key-file %s is empty: it must hold your ImageKit private API key", path)
		}
		return key, nil
	}
	if key := strings.TrimSpace(os.Getenv("IMAGEKIT_PRIVATE_KEY")); key != "" {
		return key, nil
	}
	return "", errors.New("no private API key: set IMAGEKIT_PRIVATE_KEY or pass --private-key-file FILE " +
		"(or work on a snapshot with --library FILE)")
}

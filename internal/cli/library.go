package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/internal/atomicfile"
)

// library is where a command reads and changes files: the ImageKit API, or a
// local snapshot served in process by the emulator's handler.
type library struct {
	client  *api.Client
	where   string                // the API URL or the snapshot file, for messages
	handler *imagekittest.Handler // set in --library mode
	file    string                // the snapshot file in --library mode
}

// openLibrary builds the client for the library o names. Nothing is sent
// yet; in --library mode the snapshot is read, which ctx can interrupt.
func openLibrary(ctx context.Context, o sourceOptions, version string, logger *slog.Logger) (*library, error) {
	ua := "tagprune/" + version
	if o.Library != "" {
		lib, err := imagekittest.OpenLibrary(ctx, o.Library)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagLibrary, err)
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
		return &library{client: client, where: o.Library, handler: h, file: o.Library}, nil
	}
	key, err := privateKey(o.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		return nil, fmt.Errorf("--%s %s: want a positive duration such as 30s", flagTimeout, o.Timeout)
	}
	client, err := api.New(
		api.WithBaseURL(o.APIURL),
		api.WithPrivateKey(key),
		api.WithUserAgent(ua),
		api.WithTimeout(o.Timeout),
		api.WithLogger(logger),
	)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagAPIURL, err)
	}
	return &library{client: client, where: o.APIURL}, nil
}

// unnamed returns where the library is when err does not say it already,
// and "" when it does: an *api.Error names the URL of its request, which in
// --library mode is not the snapshot file.
func (l *library) unnamed(err error) string {
	if l.handler == nil && namesRequestURL(err) {
		return ""
	}
	return l.where
}

// save writes a changed snapshot back to its file (atomically, through a
// symlink to its target); it does nothing when the library is the API or
// when no file changed, so a run that changes nothing leaves the file's
// bytes, mode and inode as they were.
func (l *library) save() error {
	if l.handler == nil || !l.handler.Library().Changed() {
		return nil
	}
	if err := writeLibrary(l.file, l.handler.Library()); err != nil {
		return fmt.Errorf("write the library back to %s: %w", l.file, err)
	}
	return nil
}

// writeLibrary writes lib to path atomically: every file object as it was
// read, but for the tags that changed.
func writeLibrary(path string, lib *imagekittest.Library) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := lib.WriteTo(w)
		return err
	})
}

// privateKey reads the key from the file path names, else from
// IMAGEKIT_PRIVATE_KEY.
func privateKey(path string) (string, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", flagPrivateKeyFile, err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("--%s %s is empty: it must hold your ImageKit private API key", flagPrivateKeyFile, path)
		}
		return key, nil
	}
	if key := strings.TrimSpace(os.Getenv("IMAGEKIT_PRIVATE_KEY")); key != "" {
		return key, nil
	}
	return "", errors.New("no private API key: set IMAGEKIT_PRIVATE_KEY or pass --private-key-file FILE " +
		"(or work on a snapshot with --library FILE)")
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/internal/atomicfile"
	"github.com/tagprune/tagprune/internal/inputfile"
	"github.com/tagprune/tagprune/reconcile"
)

// maxKeyFile bounds a --private-key-file: an ImageKit private key is a few
// dozen characters, so anything larger is not a key file.
const maxKeyFile = 4 << 10

// library is where a command reads and changes files: the ImageKit API, or a
// local snapshot served in process by the emulator's handler.
type library struct {
	client  *api.Client
	where   string                // the API URL or the snapshot file, for messages
	handler *imagekittest.Handler // set in --library mode
	file    string                // the snapshot file in --library mode
}

// openLibrary builds the client for the library o names; its requests go
// through in, and its long waits are shown by onWait. Nothing is sent yet;
// in --library mode the snapshot is read (a regular file only, size-limited),
// which ctx can interrupt.
func openLibrary(ctx context.Context, o sourceOptions, version string, logger *slog.Logger, in *interrupt, onWait func(api.Wait)) (*library, error) {
	ua := "tagprune/" + version
	if o.Library != "" {
		lib, err := imagekittest.OpenLibrary(ctx, o.Library)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagLibrary, err)
		}
		h := imagekittest.NewLibraryHandler(lib)
		var served http.Handler = h
		if in != nil {
			served = in.handler(h)
		}
		client, err := api.New(
			// The handler runs in process: this URL is never dialled.
			api.WithBaseURL("http://127.0.0.1"),
			api.WithHandler(served),
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
	opts := []api.Option{
		api.WithBaseURL(o.APIURL),
		api.WithPrivateKey(key),
		api.WithUserAgent(ua),
		api.WithTimeout(o.Timeout),
		api.WithRetry(api.RetryPolicy{RateLimitWait: o.MaxRateLimitWait}),
		api.WithLogger(logger),
	}
	if in != nil {
		opts = append(opts, api.WithHTTPClient(&http.Client{Transport: in.apiTransport()}))
	}
	if onWait != nil {
		opts = append(opts, api.WithWaitHook(onWait))
	}
	client, err := api.New(opts...)
	if err != nil {
		if len(key) < api.MinKeyLength {
			return nil, fmt.Errorf("%w (%s)", err, keySource(o.PrivateKeyFile))
		}
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

// source returns the source of the run: the snapshot file as given, cleaned,
// or the API's base URL as the client normalised it (no trailing slash, no
// /v1), so that the spellings of one URL compare equal.
func (l *library) source() reconcile.Source {
	if l.handler != nil {
		return reconcile.Source{Library: filepath.Clean(l.file)}
	}
	return reconcile.Source{APIURL: l.client.BaseURL()}
}

// privateKey reads the key from the file path names, else from
// IMAGEKIT_PRIVATE_KEY. A key file must be a regular file of at most
// maxKeyFile bytes: a named pipe or a device is refused before it is
// opened.
func privateKey(path string) (string, error) {
	if path != "" {
		b, err := inputfile.ReadFile(path, maxKeyFile)
		if err != nil {
			switch {
			case errors.Is(err, inputfile.ErrTooLarge):
				return "", fmt.Errorf("--%s: %w: it must hold only your ImageKit private API key", flagPrivateKeyFile, err)
			case errors.Is(err, inputfile.ErrNotRegular):
				return "", fmt.Errorf("--%s: %w; give the path of a file that holds the key", flagPrivateKeyFile, err)
			}
			return "", fmt.Errorf("--%s: %w", flagPrivateKeyFile, err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("--%s %s is empty: it must hold your ImageKit private API key", flagPrivateKeyFile, path)
		}
		return key, nil
	}
	if key := strings.TrimSpace(os.Getenv(envPrivateKey)); key != "" {
		return key, nil
	}
	return "", fmt.Errorf("no private API key: set %s or pass --%s FILE (or work on a snapshot with --%s FILE)",
		envPrivateKey, flagPrivateKeyFile, flagLibrary)
}

// keySource names where the key came from, for messages.
func keySource(path string) string {
	if path != "" {
		return "from --" + flagPrivateKeyFile + " " + path
	}
	return "from " + envPrivateKey
}

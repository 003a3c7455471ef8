package imagekittest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a held
// request, a server or a limiter that Close did not stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

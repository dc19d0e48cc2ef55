package realpages

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestMeasureWithoutBrowser: when no browser starts, Measure says so
// instead of returning a report of failed pages.
func TestMeasureWithoutBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Measure(ctx, Options{Pages: selfTestPages, Chromium: "/nonexistent/chromium", Parallel: 2})
	if err == nil || !strings.Contains(err.Error(), "no page measured") {
		t.Fatalf("Measure with no browser = %v, %v; want a \"no page measured\" error", rep, err)
	}
	if _, err := Measure(ctx, Options{}); err == nil {
		t.Error("Measure with no pages: no error")
	}
}

package rules

import "testing"

func TestByNameIsNamesOrder(t *testing.T) {
	names := All.Names()
	if len(ByName) != len(names) {
		t.Fatalf("ByName has %d categories, All.Names %d", len(ByName), len(names))
	}
	for i, c := range ByName {
		if c.String() != names[i] {
			t.Errorf("ByName[%d] = %s, want %s", i, c, names[i])
		}
	}
}

package vault

import "testing"

func TestKernelAtLeast(t *testing.T) {
	for rel, want := range map[string]bool{
		"5.8.0": true, "5.10.0-18-amd64": true, "6.1.0": true, "5.7.19": false, "4.19.0-20-amd64": false,
		"10.0": true, "5": false, "": false, "x.y": false, "5.8-rc1": true,
	} {
		if got := kernelAtLeast(rel, 5, 8); got != want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v, want %v", rel, got, want)
		}
	}
}
